// What every command gets from main.ts besides its options: the streams, the working
// directory, the clock and the interrupt signal (injectable, so commands run in tests).

import type { BaseContext } from 'clipanion';

export interface SkiffContext extends BaseContext {
  cwd: string;
  /** Aborted on SIGINT/SIGTERM; long operations check it between chunks. */
  signal: AbortSignal;
  /** Unix time in seconds. */
  now: () => number;
}
