import { Command, Option } from 'clipanion';
import { addVolumes } from '../../engine/volumes/add.js';
import { checkDescription } from '../../engine/volumes/description.js';
import { InputError, VolumeErrors } from '../../errors.js';
import { volumesRest } from '../options.js';
import { WriteCommand } from '../write-command.js';

export class AddCommand extends WriteCommand {
  static override paths = [['add']];
  static override operands = 'VOLUME...';
  static override usage = Command.Usage({
    description: 'Add empty volumes (no sessions) to the archive.',
    details: `
      Each new volume gets a random volume id. Names already in the archive are skipped; invalid
      names are reported and the run exits 2 (the valid ones are still added).
      --volume-desc is stored as the volumes' description.
    `,
    examples: [['Add two volumes', 'skiff --dest=file:/mnt/backup add work.img appvms/mail.img']],
  });

  volumeDesc = Option.String('--volume-desc', '', { description: 'Description of the new volumes (printable, at most 100 UTF-8 bytes)' });
  volumes = volumesRest();

  async run(): Promise<number> {
    if (this.volumes.length === 0) throw new InputError('Volume name(s) required for add.');
    const desc = checkDescription(this.volumeDesc);
    const out = this.output();
    this.banner(out);
    const ctx = await this.openForWrite(out);
    const result = await addVolumes(ctx, this.volumes, desc, out);
    if (result.failed.length > 0) throw new VolumeErrors(result.failed);
    return 0;
  }
}
