import { Command, Option } from 'clipanion';
import { type ApDays, type AutopruneMode, localDate, parseApdays, parseAutoprune } from '../../engine/prune/calendar.js';
import { prune } from '../../engine/prune/prune.js';
import {
  checkPruneSessionOptions,
  type KeepSpec,
  type PruneSessionSpec,
  parseKeepOption,
  parsePruneSessionOption,
} from '../../engine/prune/select.js';
import { buildVolumeIndex } from '../../engine/select/volume-index.js';
import { FatalError } from '../../errors.js';
import { allOption, volexOption, volumesRest } from '../options.js';
import { WriteCommand } from '../write-command.js';
import { requireVolumes, selectOrSkip } from './common.js';

/** --autoprune and --apdays, shared by prune and send. */
export const autopruneOption = () =>
  Option.String('--autoprune', {
    description: 'off (default), on (a few sessions, or until there is room) or full: prune by the --apdays calendar',
  });
export const apdaysOption = () =>
  Option.String('--apdays', {
    description: 'Remove sessions older than A days; thin those older than B days to D per C days (default 0:62:1:2)',
  });

/** --keep, shared by prune and send (send's autoprune honours it, as Wyng's does). */
export const keepOption = () =>
  Option.Array('--keep', [], { description: 'Never prune this session: a date-time, ^tag or ^all (repeatable)' });

export interface AutopruneSettings {
  mode: AutopruneMode;
  apdays: ApDays | null;
}

export function autopruneSettings(autoprune: string | undefined, apdays: string | undefined): AutopruneSettings {
  return { mode: parseAutoprune(autoprune), apdays: parseApdays(apdays) };
}

export class PruneCommand extends WriteCommand {
  static override paths = [['prune']];
  static override operands = '[VOLUME...]';
  static override usage = Command.Usage({
    description: 'Remove sessions from the archive, by selection or by the autoprune calendar.',
    details: `
      A pruned session is merged into the next newer session, which stays a complete restore
      point; the newest session of a volume is never pruned. --session=DATE, --session=^tag or a
      range --session=A,B (both ends included) selects sessions; --all-before prunes everything
      before one session; --keep protects sessions; --autoprune=on|full applies the --apdays
      calendar. Each merge is journaled in archive.ini: an interrupted prune is completed (or,
      if it had not started moving data, rolled back) by the next write command.
    `,
    examples: [
      ['Prune one session', 'skiff --dest=file:/mnt/backup prune work.img --session=20261128-153734'],
      ['Prune a range in every volume', 'skiff --dest=file:/mnt/backup prune -a --session=20261101-000000,20261115-000000'],
      ['Thin by the calendar', 'skiff --dest=file:/mnt/backup prune -a --autoprune=full --apdays=0:30:7:2'],
    ],
  });

  all = allOption();
  volex = volexOption();
  session = Option.String('--session', { description: "DATE, ^tag or 'newest'; or a range FIRST,LAST (both included)" });
  allBefore = Option.Boolean('--all-before', false, { description: 'Prune every session before the one --session names' });
  keep = keepOption();
  autoprune = autopruneOption();
  apdays = apdaysOption();
  volumes = volumesRest();

  async run(): Promise<number> {
    requireVolumes(this.volumes, this.all, 'prune');
    // Every option is checked before the archive is touched.
    const spec: PruneSessionSpec | null = this.session === undefined ? null : parsePruneSessionOption(this.session);
    if (spec) checkPruneSessionOptions(spec, this.allBefore);
    const keep: KeepSpec = parseKeepOption(this.keep);
    const calendar = autopruneSettings(this.autoprune, this.apdays);
    if (!spec && calendar.mode === 'off') throw new FatalError('Specify --autoprune or --session for prune.');

    const out = this.output();
    this.banner(out);
    const ctx = await this.openForWrite(out);
    const index = await buildVolumeIndex(ctx.archive);
    const names = selectOrSkip(index, { names: this.volumes, all: this.all, exclude: this.volex }, out);
    const allVolumes = this.all && this.volex.length === 0 && index.unreadable.size === 0;
    if (names.length > 0 && this.attended) {
      if (!(await this.confirm('This operation will delete session(s) from the archive;\nAre you sure? [y/N]: '))) return 0;
    }
    const results = await prune(
      ctx,
      {
        names,
        allVolumes,
        session: spec,
        allBefore: this.allBefore,
        keep,
        mode: calendar.mode,
        apdays: calendar.apdays,
        today: localDate(new Date(this.context.now() * 1000)),
      },
      out,
    );
    for (const result of results) {
      out.line(`${result.name} -${result.removed}${out.verbose && result.status ? ` ${result.status}` : ''}`);
    }
    return 0;
  }
}
