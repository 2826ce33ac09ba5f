// What an engine operation that changes the archive works with: the opened archive, a writer
// (sealing, counters, new roots), and the hooks into this machine's local state. Built by
// cli/write-command.ts after the destination lock is held. It is an archive/transaction.ts
// WriteSession: archive/ does every write to the destination with it.

import type { Archive } from '../archive/archive.js';
import type { WriteSession } from '../archive/transaction.js';
import type { LocalState } from '../state/local-state.js';

export interface WriteContext extends WriteSession {
  archive: Archive;
  state: LocalState;
  /** --force-retry: try again to complete an interrupted operation an earlier run failed to complete. */
  forceRetry: boolean;
}
