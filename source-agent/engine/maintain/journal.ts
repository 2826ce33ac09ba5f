// The [in_process] journal of archive.ini (format spec §6.5, §15.4): a multi-step write that
// cannot be made visible by one rename (a prune's merge, a volume's deletion) first writes
// archive.ini carrying the operation, then does its steps, then writes the final archive.ini
// with the journal cleared. A later write command finds the journal and completes the
// operation — or rolls it back when it had not started changing anything — from what is on
// the destination alone. The kinds and their fields are Wyng's, so that either program can
// complete the other's operation:
//   merge:  0 = merge, 1 = <vid>, 2 = True, 3 = <target session>, 4 = <sources joined by ":|">
//   delete: 0 = delete, 1 = <vid>

import type { ArchiveIni } from '../../archive/archive-ini.js';
import { isSessionName, isVolumeId, type SessionName, type VolumeId } from '../../archive/names.js';
import { FatalError, IntegrityError } from '../../errors.js';
import { itemAt } from '../../lookup.js';
import type { Output } from '../output.js';
// biome-ignore lint/suspicious/noImportCycles: known circle journal ↔ prune/merge-apply, volumes/delete (issue 13 item 1 moves the journal codec into archive/ and breaks it)
import { resumeMerge } from '../prune/merge-apply.js';
// biome-ignore lint/suspicious/noImportCycles: known circle journal ↔ prune/merge-apply, volumes/delete (issue 13 item 1 moves the journal codec into archive/ and breaks it)
import { resumeDelete } from '../volumes/delete.js';
import type { WriteContext } from '../write-context.js';

export type Journal = { kind: 'merge'; vid: VolumeId; target: SessionName; sources: SessionName[] } | { kind: 'delete'; vid: VolumeId };

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
  const bad = (why: string) => new IntegrityError('archive.ini', `[in_process] ${why}: ${JSON.stringify(entries)}`);
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

/**
 * Completes (or rolls back) the journaled operation. A run that already tried once and failed
 * leaves a marker in the local state; trying again then needs --force-retry, as in Wyng.
 */
export async function completeJournal(ctx: WriteContext, journal: Journal, out: Output): Promise<void> {
  const key = JSON.stringify(journalEntries(journal));
  if ((await ctx.state.retriedJournal()) === key && !ctx.forceRetry) {
    throw new FatalError('Interrupted process already retried; use --force-retry to try once more.');
  }
  await ctx.state.markRetry(key);
  out.line('Completing prior operation in progress.');
  if (journal.kind === 'merge') await resumeMerge(ctx, journal, out);
  else await resumeDelete(ctx, journal.vid, out);
  await ctx.state.clearRetry();
}
