// Punching a hole in a file (fallocate(PUNCH_HOLE|KEEP_SIZE)) through util-linux `fallocate`:
// Node has no fallocate(2). receive --sparse-write frees the chunks that the session holds as
// zeros this way (behavior spec §5.3); its caller batches a run of adjacent chunks into one call
// and writes zeros where the punch fails. Block devices are discarded instead (discard.ts).

import { describeError, LocalStorageError } from '../errors.js';
import { execFileCapture } from './exec.js';

/** Deallocates [offset, offset + length) of the file at `path`; it then reads as zeros, its size unchanged. */
export async function punchHole(path: string, offset: number, length: number, env?: NodeJS.ProcessEnv): Promise<void> {
  const argv = ['fallocate', '--punch-hole', '--keep-size', '--offset', String(offset), '--length', String(length), path];
  try {
    await execFileCapture(argv, env ? { env } : {});
  } catch (error) {
    throw new LocalStorageError(`Cannot punch a hole in '${path}': ${describeError(error)}`);
  }
}
