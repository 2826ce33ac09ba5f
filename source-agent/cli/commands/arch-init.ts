import { Command, Option } from 'clipanion';
import { stopAgent } from '../../agent/agent-client.js';
import { CHUNK_SIZES } from '../../archive/archive-ini.js';
import { type CompressionName, isCompressionName, LEVELS } from '../../archive/compression/index.js';
import { type CipherMode, cipherModeByOption, describeCipher } from '../../archive/crypto/cipher-modes.js';
import { formatSaltFile } from '../../archive/salt.js';
import { checkNoArchive, createArchive } from '../../engine/maintain/arch-init.js';
import { InputError } from '../../errors.js';
import { itemAt } from '../../lookup.js';
import { anchorFor } from '../../state/dest-anchor.js';
import { destIdentity, parseDestUrl } from '../dest-url.js';
import { formatUpdatedAt } from '../format.js';
import { volumesRest } from '../options.js';
import { readNewPassphrase } from '../passphrase.js';
import { SkiffCommand } from '../skiff-command.js';
import { selectOrSkip } from './common.js';

export function parseCompression(spec: string): { name: CompressionName; level: number } {
  const [name = '', levelText, extra] = spec.split(':');
  if (!isCompressionName(name) || extra !== undefined || (levelText !== undefined && !/^[0-9]+$/.test(levelText))) {
    throw new InputError('Invalid compression spec.');
  }
  const range = LEVELS[name];
  const level = levelText === undefined ? range.default : Number(levelText);
  if (level < range.min || level > range.max)
    throw new InputError(`Invalid compression spec: ${name} levels are ${range.min} to ${range.max}.`);
  return { name, level };
}

export class ArchInitCommand extends SkiffCommand {
  static override paths = [['arch-init']];
  static override usage = Command.Usage({
    description: 'Create a new archive at --dest.',
    examples: [['Default settings (xchacha20-dgr, zstd:3, 256 KiB chunks)', 'skiff arch-init --dest=file:/mnt/backup/laptop']],
  });

  encrypt = Option.String('--encrypt', 'xchacha20-dgr', { description: 'off, xchacha20-dgr (default), xchacha20-msr or xchacha20-ct' });
  compression = Option.String('--compression', 'zstd:3', { description: 'zstd, zlib or bz2, optionally with :level (default zstd:3)' });
  hashtype = Option.String('--hashtype', {
    description: 'Accepted for compatibility: the cipher decides (hmac-sha256, or blake2b when not encrypted)',
  });
  chunkFactor = Option.String('--chunk-factor', '3', { description: 'Chunk size 64 KiB × 2^(N-1), N = 1..6 (default 3: 256 KiB)' });

  volumes = volumesRest();

  async run(): Promise<number> {
    const dest = parseDestUrl(this.dest, this.context.cwd); // a malformed URL fails before any output
    const out = this.output();
    this.banner(out);
    out.line(`\nCreate new archive: '${dest.text}'\n`);
    // Wyng's order of checks: cipher, hashtype, compression, chunk factor.
    const mode: CipherMode | undefined = cipherModeByOption(this.encrypt);
    if (!mode) throw new InputError('Invalid cipher option.');
    if (this.hashtype !== undefined && this.hashtype !== '' && !['hmac-sha256', 'blake2b'].includes(this.hashtype)) {
      throw new InputError(`Hash function '${this.hashtype}' is not available on this system.`);
    }
    const compression = parseCompression(this.compression);
    if (!/^[1-6]$/.test(this.chunkFactor)) throw new InputError('Requested chunk size not supported.');
    const chunkSize = itemAt(CHUNK_SIZES, Number(this.chunkFactor) - 1);
    const { store } = await this.openStore({ create: true });
    await checkNoArchive(store);
    const minutes = this.authMinutes();
    await stopAgent(destIdentity(dest)); // never hand out keys of an archive that used to be at this URL

    const archive = await createArchive(store, {
      mode,
      compression: compression.name,
      level: compression.level,
      chunkSize,
      passphrase: () => readNewPassphrase(this.passphraseSource()),
      now: this.context.now,
      onDeriving: this.derivingNote(out),
    });
    await this.keepKeys(dest, archive, null, minutes);
    const state = await this.openState(archive, dest, out, true);
    await state?.saveRoot(archive.rootBytes);
    if (archive.salt) await state?.saveSalt(formatSaltFile(archive.salt));
    // This machine made the archive: from now on a destination presenting another one is refused.
    await this.recordAnchor(anchorFor(destIdentity(dest), archive.ini.mode, archive.ini.uuid));

    out.line(`${mode.encrypted ? '\n' : ''}Encryption    : ${mode.encrypted ? describeCipher(mode) : 'off '}`);
    out.line(`Data Hashing  : ${mode.hashtype}`);
    if (this.hashtype && this.hashtype !== mode.hashtype)
      out.line(`  (--hashtype=${this.hashtype} does not apply: the cipher decides the hash)`);
    out.line(`Compression   : ${compression.name}:${compression.level}`);
    if (chunkSize !== 262144) out.line(`Chunk size set: ${chunkSize}`);
    out.line(`${mode.encrypted ? 'Encrypted' : 'Un-encrypted'} archive '${dest.text}'`);
    out.line(`Last updated ${formatUpdatedAt(archive.ini.updatedAt)}`);
    // Wyng takes names on every command; the new archive has no volumes, so each is skipped (§1.2 step 14).
    selectOrSkip({ byName: new Map(), unreadable: new Map() }, { names: this.volumes, all: false, exclude: [] }, out);
    return 0;
  }
}
