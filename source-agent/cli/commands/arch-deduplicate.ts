import { Command } from 'clipanion';
import { archDeduplicate } from '../../engine/dedup/arch-deduplicate.js';
import { buildVolumeIndex } from '../../engine/select/volume-index.js';
import { volumesRest } from '../options.js';
import { WriteCommand } from '../write-command.js';
import { selectOrSkip } from './common.js';

export class ArchDeduplicateCommand extends WriteCommand {
  static override paths = [['arch-deduplicate']];
  static override usage = Command.Usage({
    description: 'Replace duplicate chunk files anywhere in the archive by hard links to one copy.',
    details: `
      Builds an index of every chunk of every session of every volume, then replaces each later
      copy of a chunk (newest session name first) by a hard link to the first one. Metadata is
      not changed. The destination must support hard links. Volume names are accepted, as Wyng
      does, but the whole archive is deduplicated.
    `,
    examples: [['Deduplicate an archive', 'skiff --dest=file:/mnt/backup arch-deduplicate']],
  });

  // Wyng takes names on every command; here they only get step 14's check (§1.2).
  volumes = volumesRest();

  async run(): Promise<number> {
    const out = this.output();
    this.banner(out);
    const { archive } = await this.openForWrite(out);
    if (this.volumes.length > 0) {
      const found = selectOrSkip(await buildVolumeIndex(archive), { names: this.volumes, all: false, exclude: [] }, out);
      if (found.length > 0) out.warn('Volume names have no effect on arch-deduplicate: it works on the whole archive, as in Wyng.');
    }
    await archDeduplicate(archive, out, { signal: this.context.signal });
    return 0;
  }
}
