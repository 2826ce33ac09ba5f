// The temporary file a receive writes next to its target, `.<name>.skiff-receive-<pid>-<8 hex>`,
// and removing the ones an earlier receive could not (SIGKILL, power loss). A file is removed
// only when everything says it is ours and abandoned: our exact naming, a regular file (not a
// link, FIFO or directory), owned by this user, its writer's pid not alive on this machine, and
// not modified for an hour — the age guards against a live receive in another pid namespace or
// on another host writing to a shared directory, where the pid means nothing. Names without a
// pid (earlier versions of Skiff) are judged by the other rules alone.

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { basename, join } from 'node:path';
import { processAlive } from '../../../confined-fs/lock-file.js';

const TEMPORARY = /^\..+\.skiff-receive-(?:([1-9][0-9]{0,9})-)?[0-9a-f]{8}$/;
/** How long a temporary must have been left alone before it counts as abandoned. */
export const ABANDONED_AFTER_MS = 3600_000;

/** The temporary name for a receive to `target`, in the same directory. */
export function temporaryName(target: string): string {
  return `.${basename(target)}.skiff-receive-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * Removes abandoned receive temporaries in `dir`; returns their names. Errors leave a file alone.
 * `now` defaults to the system clock on purpose: it is compared with mtimes the kernel stamped
 * by that clock, not with archive time (the injected clock).
 */
export async function removeAbandonedTemporaries(dir: string, now = Date.now()): Promise<string[]> {
  const names = await fs.readdir(dir).catch((): string[] => []);
  const removed: string[] = [];
  for (const name of names) {
    const match = TEMPORARY.exec(name);
    if (!match) continue;
    const path = join(dir, name);
    const stats = await fs.lstat(path).catch(() => null);
    if (!stats?.isFile() || stats.uid !== process.getuid?.()) continue;
    if (now - stats.mtimeMs < ABANDONED_AFTER_MS) continue;
    const pid = match[1] === undefined ? null : Number(match[1]);
    if (pid !== null && (pid === process.pid || processAlive(pid))) continue;
    if (
      await fs.unlink(path).then(
        () => true,
        () => false,
      )
    )
      removed.push(name);
  }
  return removed;
}
