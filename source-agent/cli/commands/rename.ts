import { resolve } from 'node:path';
import { Command, Option } from 'clipanion';
import { volumeNameProblem } from '../../archive/names.js';
import { checkDescription } from '../../engine/volumes/description.js';
import { onlineLocal, renameVolumeSnapshots } from '../../engine/volumes/local-snapshots.js';
import { renameVolume } from '../../engine/volumes/rename.js';
import { FatalError, InputError } from '../../errors.js';
import { itemAt } from '../../lookup.js';
import { localOption, volumesRest } from '../options.js';
import { WriteCommand } from '../write-command.js';

export class RenameCommand extends WriteCommand {
  static override paths = [['rename']];
  static override operands = 'OLD NEW';
  static override usage = Command.Usage({
    description: 'Rename a volume in the archive.',
    details: `
      Only the volume's name changes (and its description, with --volume-desc); its id and
      sessions stay. With --local, the local snapshot stays paired with the volume when the file
      under the new name exists, so the next send is incremental.
    `,
    examples: [['Rename a volume', 'skiff --dest=file:/mnt/backup --local=/var/lib/images rename old.img new.img']],
  });

  local = localOption();
  volumeDesc = Option.String('--volume-desc', { description: 'New description (printable, at most 100 UTF-8 bytes); default: keep it' });
  volumes = volumesRest();

  async run(): Promise<number> {
    if (this.volumes.length !== 2) throw new InputError('Rename requires two volume names.');
    const [from, to] = [itemAt(this.volumes, 0), itemAt(this.volumes, 1)];
    const desc = this.volumeDesc === undefined ? undefined : checkDescription(this.volumeDesc);
    if (volumeNameProblem(to) !== null) throw new FatalError(`Error: Cannot rename '${from}' to '${to}'.`);
    const out = this.output();
    this.banner(out);
    const ctx = await this.openForWrite(out);
    const vid = await renameVolume(ctx, { from, to, desc });
    if (out.verbose) out.line('Archive volume renamed.');
    const local = await onlineLocal(this.local === undefined ? undefined : resolve(this.context.cwd, this.local));
    if (!local) {
      out.line(
        "Note: A valid --local location was not specified; no local snapshots will be renamed which may result in a slow rescan on the next 'send'.",
      );
      out.line();
      return 0;
    }
    await renameVolumeSnapshots({ local, uuid: ctx.archive.ini.uuid, vid, from, to, state: ctx.state }, out);
    return 0;
  }
}
