import { Command } from 'clipanion';
import { archDeduplicate } from '../../engine/dedup/arch-deduplicate.js';
import { WriteCommand } from '../write-command.js';

export class ArchDeduplicateCommand extends WriteCommand {
  static override paths = [['arch-deduplicate']];
  static override usage = Command.Usage({
    description: 'Replace duplicate chunk files anywhere in the archive by hard links to one copy.',
    details: `
      Builds an index of every chunk of every session of every volume, then replaces each later
      copy of a chunk (newest session name first) by a hard link to the first one. Metadata is
      not changed. The destination must support hard links.
    `,
    examples: [['Deduplicate an archive', 'skiff --dest=file:/mnt/backup arch-deduplicate']],
  });

  async run(): Promise<number> {
    const out = this.output();
    this.banner(out);
    const { archive } = await this.openForWrite(out);
    await archDeduplicate(archive, out, { signal: this.context.signal });
    return 0;
  }
}
