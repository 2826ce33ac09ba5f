// The [in_process] journal of archive.ini (format spec §6.5, §15.4), as a codec: a multi-step
// write that cannot be made visible by one rename (a prune's merge, a volume's deletion) first
// writes archive.ini carrying the operation, then does its steps, then writes the final
// archive.ini with the journal cleared. The kinds and their fields are Wyng's, so that either
// program can complete the other's operation:
//   merge:  0 = merge, 1 = <vid>, 2 = True, 3 = <target session>, 4 = <sources joined by ":|">
//   delete: 0 = delete, 1 = <vid>
// What completing one means is engine/maintain/journal.ts's; the destination steps are
// merge.ts's and volume-delete.ts's.

import { IntegrityError } from '../errors.js';
import { itemAt } from '../lookup.js';
import type { ArchiveIni } from './archive-ini.js';
import { layout } from './layout.js';
import { isSessionName, isVolumeId, type SessionName, type VolumeId } from './names.js';

export interface MergeJournal {
  kind: 'merge';
  vid: VolumeId;
  target: SessionName;
  /** Oldest first. */
  sources: SessionName[];
}

export type Journal = MergeJournal | { kind: 'delete'; vid: VolumeId };

/** The journal as archive.ini stores it (a list of values for keys 0, 1, 2 …). */
export function journalEntries(journal: Journal): string[] {
  if (journal.kind === 'delete') return ['delete', journal.vid];
  return ['merge', journal.vid, 'True', journal.target, journal.sources.join(':|')];
}

/** Decodes and checks [in_process]; null when empty. Throws IntegrityError on anything else. */
export function parseJournal(ini: ArchiveIni): Journal | null {
  const entries = ini.inProcess;
  if (entries.length === 0) return null;
  const [kind, vid] = entries;
  const bad = (why: string) => new IntegrityError(layout.archiveIni, `[in_process] ${why}: ${JSON.stringify(entries)}`);
  if (vid === undefined || !isVolumeId(vid)) throw bad('names no valid volume');
  if (kind === 'delete' && entries.length === 2) return { kind, vid };
  if (kind === 'merge' && entries.length === 5) {
    const target = itemAt(entries, 3);
    const sources = itemAt(entries, 4).split(':|');
    if (!isSessionName(target) || !sources.every(isSessionName) || sources.includes(target) || new Set(sources).size !== sources.length) {
      throw bad('has a malformed merge');
    }
    if (entries[2] === '') throw bad('merge does not clear its sources'); // Wyng always writes True
    return { kind, vid, target, sources };
  }
  throw bad(`holds an operation Skiff does not know (${kind ?? ''})`);
}
