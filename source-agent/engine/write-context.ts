// What an engine operation that changes the archive works with: the opened archive, a writer
// (sealing, counters, new roots), and the hooks into this machine's local state. Built by
// cli/write-command.ts after the destination lock is held.

import type { Archive } from '../archive/archive.js';
import type { ArchiveWriter } from '../archive/archive-writer.js';
import type { LocalState } from '../state/local-state.js';

export interface WriteContext {
  archive: Archive;
  writer: ArchiveWriter;
  state: LocalState;
  /** --force-retry: try again to complete an interrupted operation an earlier run failed to complete. */
  forceRetry: boolean;
  /** Records the root just written (the rollback anchor) and the counters reserved after it. */
  persist(): Promise<void>;
}

/**
 * Writes a new archive.ini (directly: put is atomic) and records it locally. For roots that
 * are a single-step change; multi-step changes journal first (journal.ts).
 */
export async function installRoot(
  ctx: WriteContext,
  root: { bytes: Buffer; ini: import('../archive/archive-ini.js').ArchiveIni },
): Promise<void> {
  const store = ctx.archive.store;
  await store.put('archive.ini', root.bytes);
  ctx.archive.ini = root.ini;
  ctx.archive.rootBytes = root.bytes;
  await ctx.persist();
  await store.put('archive.ini.bak', root.bytes);
}
