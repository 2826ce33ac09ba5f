// A prune's merge: which sessions, and the plan of chunk moves (merge-plan.ts); the steps on the
// destination — prepare, journal, init, moves, finalize, in Wyng's own order and file names so
// that either program can complete the other's interrupted merge — are archive/merge.ts's.

import type { Volume } from '../../archive/archive.js';
import type { MergeJournal } from '../../archive/journal.js';
import { applyMerge, resumeMergeOnDestination } from '../../archive/merge.js';
import type { SessionName } from '../../archive/names.js';
import type { Output } from '../output.js';
import type { WriteContext } from '../write-context.js';
import { planMerge } from './merge-plan.js';

/**
 * Removes `run` (consecutive sessions of `volume`, oldest first, not including its newest) by
 * merging them into the session that follows. Returns when the archive holds the result.
 */
export async function mergeSessions(ctx: WriteContext, volume: Volume, run: readonly SessionName[]): Promise<void> {
  const { archive } = ctx;
  const vid = volume.vid;
  const first = volume.sessions.findIndex((s) => s.name === run[0]);
  const sources = volume.sessions.slice(first, first + run.length);
  const target = volume.sessions[first + run.length];
  if (first < 0 || !target || sources.some((s, i) => s.name !== run[i])) {
    throw new Error(`not a run of consecutive sessions before another: ${run.join(', ')}`);
  }
  const plan = planMerge({
    chunkSize: archive.chunkSize,
    sources: await Promise.all(sources.map(async (s) => ({ name: s.name, manifest: await archive.loadManifest(vid, s) }))),
    target: { name: target.name, volsize: target.info.volsize, manifest: await archive.loadManifest(vid, target) },
  });
  await applyMerge(ctx, { volume, sources, target, plan });
}

/** Completes or rolls back an interrupted merge from the destination's state alone. */
export async function resumeMerge(ctx: WriteContext, job: MergeJournal, out: Output): Promise<void> {
  const outcome = await resumeMergeOnDestination(ctx, job, planMerge);
  if (outcome === 'rolled-back') out.line(`  Rolled back an interrupted prune of ${job.vid} (it had not started moving data).`);
  else out.line(`  Completed an interrupted prune of ${job.vid}.`);
}
