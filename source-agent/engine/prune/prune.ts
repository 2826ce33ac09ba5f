// prune and autoprune (behavior spec §6): for each selected volume, decide which sessions go
// (select.ts for --session, calendar.ts for the calendar rules, --keep protecting), group them
// into runs of consecutive sessions (runs.ts) and merge each run into the session after it
// (merge-apply.ts), one journaled merge at a time. Every selection is computed — and every bad
// range refused — before the first merge, so an input error changes nothing.

import type { Volume } from '../../archive/archive.js';
import { isMetadataVolume, type SessionName, type VolumeId } from '../../archive/names.js';
import { valueFor } from '../../lookup.js';
import type { Output } from '../output.js';
import { buildVolumeIndex, compareCodePoints } from '../select/volume-index.js';
import type { WriteContext } from '../write-context.js';
import { type ApDays, type AutopruneMode, autopruneMarks, type CalendarDate } from './calendar.js';
import { mergeSessions } from './merge-apply.js';
import { ESCALATION_FACTORS, pruneRuns } from './runs.js';
import { type KeepSpec, keptSessions, mayPruneVolume, type PruneSessionSpec, selectSessions } from './select.js';

export interface PruneRequest {
  /** Volume names to prune (each in the archive). */
  names: readonly string[];
  /** -a selected every volume of the archive (metadata volumes may then be pruned). */
  allVolumes: boolean;
  session: PruneSessionSpec | null;
  allBefore: boolean;
  keep: KeepSpec;
  mode: AutopruneMode;
  apdays: ApDays | null;
  today: CalendarDate;
  /**
   * Space to free for a send (autoprune "on" during send): "on" passes escalate until the
   * destination has this many bytes free. 0 for the prune command: one pass.
   */
  neededBytes?: number;
}

export interface PruneResult {
  name: string;
  removed: number;
  /** Why nothing was removed, when nothing was ("No extra sessions to prune", …). */
  status: string;
}

interface Plan {
  name: string;
  vid: VolumeId;
  include: Set<SessionName> | null;
  exclude: Set<SessionName>;
  status: string;
}

/** Metadata volumes are pruned last (they describe the others). */
function pruneOrder(names: readonly string[]): string[] {
  return [...names].sort((a, b) => Number(isMetadataVolume(a)) - Number(isMetadataVolume(b)) || compareCodePoints(a, b));
}

export async function prune(ctx: WriteContext, request: PruneRequest, out: Output): Promise<PruneResult[]> {
  const { archive } = ctx;
  const index = await buildVolumeIndex(archive);
  // The calendar judges all volumes together, as they were when the command started.
  const everyVolume: SessionName[][] = [];
  const volumes = new Map<string, Volume>();
  for (const [name, vid] of index.byName) {
    const volume = await archive.loadVolume(vid);
    volumes.set(name, volume);
    everyVolume.push(volume.sessions.map((s) => s.name));
  }

  // Decide everything first: a bad range in any volume must stop the run before a merge.
  const plans: Plan[] = [];
  for (const name of pruneOrder(request.names)) {
    const volume = volumes.get(name);
    if (!volume) continue;
    if (!mayPruneVolume(name, request.allVolumes)) continue;
    const tagged = volume.sessions.map((s) => ({ name: s.name, tags: s.info.tags }));
    const exclude = keptSessions(tagged, request.keep);
    let include: Set<SessionName> | null = null;
    let status = '';
    if (request.session) {
      const selection = selectSessions(tagged, request.session, request.allBefore);
      if ('none' in selection) status = selection.none;
      else include = new Set(selection.selected);
      if (selection.preservedLatest && out.verbose) out.line(` Preserving latest session -`);
    }
    if (volume.sessions.length < 2) status = 'No extra sessions to prune';
    plans.push({ name, vid: volume.vid, include, exclude, status });
  }

  const results: PruneResult[] = [];
  for (const plan of plans) {
    let volume = valueFor(volumes, plan.name);
    // A --session that matched nothing in this volume prunes nothing here, calendar or not.
    if (volume.sessions.length < 2 || (request.session && !plan.include)) {
      results.push({ name: plan.name, removed: 0, status: plan.status });
      continue;
    }
    const marked = autopruneMarks({
      mode: request.mode,
      apdays: request.apdays,
      today: request.today,
      volumes: everyVolume,
      volume: volume.sessions.map((s) => s.name),
      ...(plan.include ? { include: plan.include } : {}),
      exclude: plan.exclude,
      metadata: isMetadataVolume(plan.name),
    });
    let removed = 0;
    const explicit = plan.include !== null && plan.include.size > 0;
    const factors = request.mode === 'on' && !explicit && (request.neededBytes ?? 0) > 0 ? ESCALATION_FACTORS : [1];
    for (const factor of factors) {
      const names = volume.sessions.map((s) => s.name);
      const present = new Set(names);
      const remaining = new Set([...marked].filter((s) => present.has(s)));
      const runs = pruneRuns(names, remaining, {
        mode: request.mode,
        explicit,
        factor,
        ...(plan.include ? { include: new Set([...plan.include].filter((s) => remaining.has(s))) } : {}),
      });
      if (runs.length === 0) break;
      for (const run of runs) {
        await mergeSessions(ctx, volume, run);
        removed += run.length;
        volume = await archive.loadVolume(plan.vid);
      }
      if ((request.neededBytes ?? 0) <= 0 || (await archive.store.freeSpace()) >= (request.neededBytes ?? 0)) break;
    }
    results.push({ name: plan.name, removed, status: removed === 0 ? plan.status || 'No selections in this date-time range' : '' });
  }
  return results;
}
