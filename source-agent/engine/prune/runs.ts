// How the marked sessions of a volume are removed (behavior spec §6.3 step 8): each contiguous
// run of marked sessions is merged into the session that follows it, which then still restores
// exactly as before. "on" mode removes only a few sessions per pass (whole runs, oldest first),
// because it exists to free just enough space for a send.

import type { SessionName } from '../../archive/names.js';
import { lastOf } from '../../lookup.js';
import type { AutopruneMode } from './calendar.js';

/** A pass in "on" mode stops once it has removed this many sessions times the pass's factor. */
export const SESSIONS_PER_PASS = 3;

/**
 * The factors of successive "on" passes while the destination still lacks the space a send needs:
 * 3, 9, 15 sessions, then everything marked.
 */
export const ESCALATION_FACTORS: readonly number[] = [1, 3, 5, Number.POSITIVE_INFINITY];

export interface PruneRunOptions {
  readonly mode: AutopruneMode;
  /** Sessions were named by `prune --session`: the pass does not stop before they are all removed. */
  readonly explicit: boolean;
  /** The "on" pass factor (ESCALATION_FACTORS); default 1. */
  readonly factor?: number;
  /**
   * The named sessions themselves (after --keep). When given, an "on" pass may stop after the run
   * that removes the last of them, as Wyng does; without it `explicit` merges every run.
   */
  readonly include?: ReadonlySet<SessionName>;
}

/**
 * The runs to merge in one pass, oldest first; each run is merged into the session after its last
 * member (runTarget). The volume's newest session is never in a run.
 */
export function pruneRuns(sessions: readonly SessionName[], marked: ReadonlySet<SessionName>, options: PruneRunOptions): SessionName[][] {
  const candidates = sessions.slice(0, -1).filter((name) => marked.has(name));
  const pending = new Set(options.include ?? (options.explicit ? candidates : []));
  for (const name of pending) if (!candidates.includes(name)) pending.delete(name);
  const limit = options.mode === 'on' ? SESSIONS_PER_PASS * (options.factor ?? 1) : Number.POSITIVE_INFINITY;

  const runs: SessionName[][] = [];
  let run: SessionName[] = [];
  let removed = 0;
  // The newest session is never marked here, so it always closes the last run.
  for (const name of sessions) {
    if (marked.has(name) && name !== sessions.at(-1)) {
      run.push(name);
      continue;
    }
    if (run.length === 0) continue;
    runs.push(run);
    removed += run.length;
    for (const done of run) pending.delete(done);
    run = [];
    if (pending.size === 0 && removed >= limit) break;
  }
  return runs;
}

/** The session a run is merged into: the one right after the run's newest member. */
export function runTarget(sessions: readonly SessionName[], run: readonly SessionName[]): SessionName {
  const target = sessions[sessions.indexOf(lastOf(run)) + 1];
  if (target === undefined) throw new Error('a prune run cannot end with the newest session');
  return target;
}
