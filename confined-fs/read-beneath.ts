// Reading one whole file of the archive with synchronous calls, confined beneath the archive's
// directory descriptor: the receive workers read chunk files this way on `file:` destinations
// (engine/workers/decode-worker.ts, in their own threads, holding only the number of the
// descriptor), with the checks ArchiveDirectory.openForReading makes for LocalStore: the path
// walked from the root without following a link, a regular file only (no FIFO, device or link),
// its size bounded before a byte is read, and a file that shrinks while read failing with EIO
// rather than handing back stale bytes. For a chunk file of a few hundred KiB synchronous calls
// cost less than trips through libuv's thread pool, and the worker has nothing else to do.

import { closeSync, fstatSync, readSync } from 'node:fs';
import { isArchivePath } from '../protocol/paths.js';
import { at, ConfinementError, closeQuietly, openRegularForReading, parentsAndLeaf, walkFrom } from './beneath-root.js';

/**
 * Reads the file at archive path `path` (clean, not ".") beneath the directory open as `rootFd`
 * into the start of `buffer`, whose length is the bound (TOO_LARGE beyond it); returns its size.
 */
export function readWholeBeneath(rootFd: number, path: string, buffer: Uint8Array): number {
  if (!isArchivePath(path) || path === '.') throw new ConfinementError('EINVAL', `${path}: not a file path`);
  const [parents, leaf] = parentsAndLeaf(path);
  const dirFd = walkFrom(rootFd, parents, false);
  let fd: number;
  try {
    fd = openRegularForReading(at(dirFd, leaf), path);
  } finally {
    closeSync(dirFd);
  }
  try {
    const size = fstatSync(fd).size;
    if (size > buffer.length) throw new ConfinementError('TOO_LARGE', `${path}: ${size} bytes, more than the ${buffer.length} allowed`);
    let filled = 0;
    while (filled < size) {
      const n = readSync(fd, buffer, filled, size - filled, filled);
      if (n === 0) throw new ConfinementError('EIO', `${path}: file shrank while being read`);
      filled += n;
    }
    return size;
  } finally {
    closeQuietly(fd);
  }
}
