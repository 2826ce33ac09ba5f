// Rollback protection (behavior spec §9.3): the destination could hand back an older, still
// authentic archive.ini (a replayed root) or an unencrypted one in place of an encrypted one.
// The root this machine last saw is kept in the local state and compared on every run.

import type { ArchiveIni } from '../archive/archive-ini.js';

export type RootComparison =
  | { kind: 'ok'; cacheIsOlder: boolean }
  | { kind: 'rollback'; cached: string; current: string }
  | { kind: 'downgrade' }
  | { kind: 'conflict'; updatedAt: string };

/** Everything but the fields that legitimately change without a new state (time, counters). */
function significant(ini: ArchiveIni, withJournal = true): string {
  const vars = ini.varEntries.filter(([k]) => k !== 'updated_at' && k !== 'dataci_count' && k !== 'mci_count');
  return JSON.stringify([ini.mode.code, vars, [...ini.volumes], withJournal ? ini.inProcess : []]);
}

export function compareRoots(cached: ArchiveIni, current: ArchiveIni): RootComparison {
  if (cached.mode.encrypted && !current.mode.encrypted) return { kind: 'downgrade' };
  const cachedAt = Number(cached.updatedAt);
  const currentAt = Number(current.updatedAt);
  const same = significant(cached) === significant(current);
  if (cachedAt > currentAt && !same) return { kind: 'rollback', cached: cached.updatedAt, current: current.updatedAt };
  // Wyng journals a prune by rewriting archive.ini with [in_process] set and the old updated_at:
  // the same time, the same state, plus a journal. That is the next state, not a conflict.
  const journaled =
    cached.inProcess.length === 0 && current.inProcess.length > 0 && significant(cached, false) === significant(current, false);
  if (cachedAt === currentAt && !same && !journaled) return { kind: 'conflict', updatedAt: current.updatedAt };
  return { kind: 'ok', cacheIsOlder: currentAt > cachedAt };
}
