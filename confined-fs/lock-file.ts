// The archive lock, one implementation for LocalStore and the destination helper: a file created
// with O_EXCL (never through a link) beneath the archive root, holding the taker's pid. A lock
// whose holder no longer runs on this machine is taken over; a live holder's is not. Also the
// liveness test of a pid, shared with the receive temporaries' clean-up (engine/).

import { closeSync, readSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { errnoOf } from '../protocol/thrown.js';
import { at, NEW_FILE, openRegularForReading, unlinkQuietly } from './beneath-root.js';

/** What took the lock failed at: `holder` is the live process that has it, or null (raced twice). */
export type LockRefusal = { holder: number | null };

/**
 * Takes the lock file `name` in the directory `rootFd`; null when taken. Other errors than an
 * existing lock (EACCES, ENOSPC) are thrown to the caller, which maps them to its own errors.
 */
export async function takeLockFile(rootFd: number, name: string): Promise<LockRefusal | null> {
  const path = at(rootFd, name);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: NEW_FILE, mode: 0o600 });
      return null;
    } catch (error) {
      if (errnoOf(error) !== 'EEXIST') throw error;
      const holder = readLockHolder(path, name);
      if (Number.isInteger(holder) && holder > 0 && processAlive(holder)) return { holder };
      unlinkQuietly(path);
    }
  }
  return { holder: null };
}

export function releaseLockFile(rootFd: number, name: string): void {
  unlinkQuietly(at(rootFd, name));
}

function readLockHolder(path: string, shown: string): number {
  try {
    const fd = openRegularForReading(path, shown);
    try {
      const buffer = Buffer.alloc(32);
      const length = readSync(fd, buffer, 0, buffer.length, 0);
      return Number.parseInt(buffer.subarray(0, length).toString('utf8'), 10);
    } finally {
      closeSync(fd);
    }
  } catch {
    return Number.NaN;
  }
}

/** Whether `pid` runs on this machine (EPERM: it does, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoOf(error) === 'EPERM';
  }
}
