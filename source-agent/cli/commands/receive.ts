import { lstat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, Option } from 'clipanion';
import { receiveVolume } from '../../engine/restore/receive.js';
import { chooseSession, parseSessionSpec } from '../../engine/select/session-select.js';
import { buildVolumeIndex, selectVolumes } from '../../engine/select/volume-index.js';
import { InputError, IntegrityError, VolumeErrors } from '../../errors.js';
import { itemAt, valueFor } from '../../lookup.js';
import { forceOption, sessionOption, sessionStrictOption, volumesRest } from '../options.js';
import { SkiffCommand } from '../skiff-command.js';
import { parseStrict, singleSession } from './common.js';

export class ReceiveCommand extends SkiffCommand {
  static override paths = [['receive']];
  static override operands = 'VOLUME';
  static override usage = Command.Usage({
    description: 'Restore a volume from the archive to a file or block device.',
    details: `
      Writes the volume as it was at one session (the newest unless --session is given) to the
      path given by --save-to. A file is written under a temporary name and renamed into place
      only after every chunk passed its checks; all-zero chunks become holes. A block device is
      written in place with its first chunk last; if the receive fails, that first chunk is
      zeroed so the partial restore cannot be mistaken for a good one.
    `,
    examples: [['Restore the newest session', 'skiff --dest=file:/mnt/backup receive vm.img --save-to=/var/tmp/vm.img']],
  });

  saveTo = Option.String('--save-to', { description: 'File or block device to write the volume to' });
  session = sessionOption('Session to restore: YYYYMMDD-HHMMSS or ^tag (default: the newest)');
  sessionStrict = sessionStrictOption();
  force = forceOption();
  skipCorruptChunks = Option.Boolean('--skip-corrupt-chunks', false, {
    description: 'Restore chunks that fail their checks as zeros instead of stopping (exit code 2)',
  });
  volumes = volumesRest();

  async run(): Promise<number> {
    if (this.volumes.length === 0) throw new InputError('Volume name(s) or --all required for receive.');
    if (this.saveTo === undefined || this.saveTo === '') {
      throw new InputError('receive needs --save-to=PATH (receiving into --local storage is not supported yet).');
    }
    if (this.volumes.length !== 1) throw new InputError('Specify one volume for receive --save-to.');
    const spec = parseSessionSpec(singleSession(this.session, 'receive'));
    const strict = parseStrict(this.sessionStrict);
    const savePath = resolve(this.context.cwd, this.saveTo);
    const out = this.output();
    this.banner(out);
    const { archive } = await this.openArchive(out);
    const index = await buildVolumeIndex(archive);
    const name = itemAt(selectVolumes(index, { names: this.volumes, all: false, exclude: [] }), 0);
    try {
      const volume = await archive.loadVolume(valueFor(index.byName, name));
      const choice = chooseSession(volume, spec, strict);
      if (typeof choice === 'string') {
        out.warn(choice);
        throw new VolumeErrors([name]);
      }
      if (choice.note) out.line(choice.note);
      // Ask only when something is there to be overwritten.
      if (
        this.attended &&
        !this.force &&
        (await lstat(savePath).then(
          () => true,
          () => false,
        ))
      ) {
        const yes = await this.confirm('\nWarning:  Receiving to existing volumes will overwrite them!\nAre you sure? [y/N]: ');
        if (!yes) return 1;
      }
      const result = await receiveVolume(archive, volume, choice, savePath, out, {
        signal: this.context.signal,
        skipCorrupt: this.skipCorruptChunks,
      });
      if (result.skipped > 0) throw new VolumeErrors([name]);
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      out.warn(`Error: ${error.message}`);
      throw new VolumeErrors([name]);
    }
    return 0;
  }
}
