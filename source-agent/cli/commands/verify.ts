import { Command } from 'clipanion';
import { verifyVolume } from '../../engine/restore/verify.js';
import { parseSessionSpec } from '../../engine/select/session-select.js';
import { buildVolumeIndex } from '../../engine/select/volume-index.js';
import { IntegrityError, VolumeErrors } from '../../errors.js';
import { allOption, sessionOption, sessionStrictOption, volexOption, volsFromOption, volumesRest } from '../options.js';
import { SkiffCommand } from '../skiff-command.js';
import { loadVolsFrom, setVolumeNames, writeErrorFile } from '../vols-from.js';
import { parseStrict, reportUnreadable, requireVolumes, selectOrSkip, singleSession, volumeSession } from './common.js';

export class VerifyCommand extends SkiffCommand {
  static override paths = [['verify']];
  static override operands = '[VOLUME...]';
  static override usage = Command.Usage({
    description: 'Check that volumes can be restored: read and check every chunk of a session, writing nothing.',
    examples: [['Verify the newest session of every volume', 'skiff --dest=file:/mnt/backup verify --all']],
  });

  all = allOption();
  volex = volexOption();
  session = sessionOption('Session to verify: YYYYMMDD-HHMMSS or ^tag (default: the newest)');
  sessionStrict = sessionStrictOption();
  volsFrom = volsFromOption();
  volumes = volumesRest();

  async run(): Promise<number> {
    const volsFrom = loadVolsFrom(this.volsFrom, this.context.cwd, this.volumes, this.context.stderr);
    if (!volsFrom) requireVolumes(this.volumes, this.all, 'verify');
    const spec = parseSessionSpec(singleSession(this.session, 'verify'));
    const strict = parseStrict(this.sessionStrict);
    const out = this.output();
    this.banner(out);
    const { archive } = await this.openArchive(out);
    const index = await buildVolumeIndex(archive);
    const names = selectOrSkip(
      index,
      { names: volsFrom ? setVolumeNames(volsFrom) : this.volumes, all: this.all, exclude: this.volex },
      out,
    );
    const failed = this.all ? reportUnreadable(index, out) : [];
    for (const name of names) {
      try {
        const selected = await volumeSession(archive, index, name, { spec, strict, verb: 'verify' }, out);
        if (selected === 'failed') failed.push(name);
        if (typeof selected === 'string') continue;
        await verifyVolume(archive, selected.volume, selected.choice, out, this.context.signal);
      } catch (error) {
        if (!(error instanceof IntegrityError)) throw error;
        out.warn(`Error: ${error.message}`);
        failed.push(name);
      }
    }
    if (failed.length > 0) {
      if (volsFrom) writeErrorFile(volsFrom, failed);
      throw new VolumeErrors(failed);
    }
    return 0;
  }
}
