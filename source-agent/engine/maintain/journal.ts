// Completing a journaled operation (archive.ini's [in_process], codec in archive/journal.ts): a
// later write command finds the journal and completes the operation — or rolls it back when it
// had not started changing anything — from what is on the destination alone (the steps are
// archive/merge.ts's and archive/volume-delete.ts's). A run that already tried once and failed
// leaves a marker in the local state; trying again then needs --force-retry, as in Wyng.

import { type Journal, journalEntries } from '../../archive/journal.js';
import { FatalError } from '../../errors.js';
import type { Output } from '../output.js';
import { resumeMerge } from '../prune/merge-apply.js';
import { resumeDelete } from '../volumes/delete.js';
import type { WriteContext } from '../write-context.js';

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
