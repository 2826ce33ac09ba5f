// What one monitor run did for one volume (behavior spec §2.5 "monitor"), for the command's
// output: Wyng's "  <N> ch, <M> dis" / "  no change" lines and its skip messages.

export type MonitorResult =
  | {
      outcome: 'changed';
      /** Chunks newly marked in the deltamap by this run. */
      newChunks: number;
      /** Unmapped (discarded or cut off) bytes, in whole chunks. */
      freedChunks: number;
      grew: boolean;
    }
  | { outcome: 'unchanged' }
  /** Not monitored: the message says why; `failed` puts the volume in the error list (exit 2). */
  | { outcome: 'skipped'; message: string; failed: boolean };
