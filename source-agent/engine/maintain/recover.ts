// Before any write: finish or clear what an interrupted write (Skiff's or Wyng's) left on the
// destination, using only what is there. A journaled operation ([in_process]: a prune's merge or
// a volume's deletion) is completed or rolled back first (journal.ts); then an interrupted
// commit's archive.ini.tmp is published or removed, and the leftovers in volume directories go
// (archive/recovery.ts has the rules).

import { parseJournal } from '../../archive/journal.js';
import { layout } from '../../archive/layout.js';
import { clearVolumeLeftovers, completeInterruptedCommit } from '../../archive/recovery.js';
import type { Output } from '../output.js';
import type { WriteContext } from '../write-context.js';
import { completeJournal } from './journal.js';

export async function recoverInterruptedWrites(ctx: WriteContext, out: Output): Promise<void> {
  const { archive } = ctx;
  const journal = parseJournal(archive.ini);
  if (journal) await completeJournal(ctx, journal, out);
  if (await completeInterruptedCommit(ctx)) out.warn(`Completed an interrupted commit (${layout.rootTmp}).`);
  await clearVolumeLeftovers(archive);
}
