import { Command } from 'clipanion';
import { archCheck } from '../../engine/arch-check.js';
import { parseSessionSpec } from '../../engine/session-select.js';
import { buildVolumeIndex, selectVolumes } from '../../engine/volume-index.js';
import { InputError, VolumeErrors } from '../../errors.js';
import { allOption, sessionOption, volexOption, volumesRest } from '../options.js';
import { SkiffCommand } from '../skiff-command.js';
import { singleSession } from './common.js';

export class ArchCheckCommand extends SkiffCommand {
  static override paths = [['arch-check']];
  static override usage = Command.Usage({
    description: 'Check the whole archive: every volume, session, manifest and chunk (read-only).',
    details: `
      Loads every volume's metadata through the hash chain, checks each volume's indexes, then
      reads and checks every chunk of every session, newest first. --session=newest checks only
      the newest session; --session=YYYYMMDD-HHMMSS starts at that session and goes back.
    `,
  });

  all = allOption();
  volex = volexOption();
  session = sessionOption("Where to start: 'newest', or YYYYMMDD-HHMMSS (default: every session)");
  volumes = volumesRest();

  async run(): Promise<number> {
    const text = singleSession(this.session, 'arch-check');
    const spec = text === undefined ? null : parseSessionSpec(text, { allowNewest: true });
    if (spec?.kind === 'tag') throw new InputError("arch-check --session takes 'newest' or a date-time, not a tag.");
    const out = this.output();
    this.banner(out);
    const { archive } = await this.openArchive(out);
    let names: string[] | null = null;
    if (this.volumes.length > 0 || this.volex.length > 0) {
      const index = await buildVolumeIndex(archive);
      names = selectVolumes(index, { names: this.volumes, all: this.volumes.length === 0 || this.all, exclude: this.volex });
    }
    const failed = await archCheck(archive, { names, session: spec, signal: this.context.signal }, out);
    if (failed.length > 0) throw new VolumeErrors(failed);
    return 0;
  }
}
