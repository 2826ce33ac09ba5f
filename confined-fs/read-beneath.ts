// Reading one whole file of the archive with synchronous calls, confined beneath the archive's
// directory descriptor: the receive workers read chunk files this way on `file:` destinations
// (engine/workers/decode-worker.ts, in their own threads, holding only the number of the
// descriptor), with the checks ArchiveDirectory.openForReading makes for LocalStore: the path
// walked from the root without following a link, a regular file only (no FIFO, device or link),
// its size bounded before a byte is read, and a file that shrinks while read failing with EIO
// rather than handing back stale bytes. For a chunk file of a few hundred KiB synchronous calls
// cost less than trips through libuv's thread pool, and the worker has nothing else to do.
// Consecutive chunk files share a directory (256 MiB of addresses), so they share its walk.

import { fstatSync, readSync } from 'node:fs';
import { isArchivePath } from '../protocol/paths.js';
import { at, ConfinementError, closeQuietly, openRegularForReading, parentsAndLeaf, walkFrom } from './beneath-root.js';

/**
 * Reads whole files beneath the directory open as `rootFd`. Consecutive files of one directory
 * (a batch of chunk files) share one walk to it: the directory's descriptor is held until a file
 * of another directory is asked for or `release` is called, which the owner does after each
 * batch, so nothing walked is kept for longer than a few reads.
 */
export class BeneathReader {
  private parents: string | null = null;
  private dirFd = -1;

  constructor(private readonly rootFd: number) {}

  /**
   * Reads the file at archive path `path` (clean, not ".") into the start of `buffer`, whose
   * length is the bound (TOO_LARGE beyond it); returns its size.
   */
  read(path: string, buffer: Uint8Array): number {
    if (!isArchivePath(path) || path === '.') throw new ConfinementError('EINVAL', `${path}: not a file path`);
    const [parents, leaf] = parentsAndLeaf(path);
    const joined = parents.join('/');
    if (joined !== this.parents) {
      this.release();
      this.dirFd = walkFrom(this.rootFd, parents, false);
      this.parents = joined;
    }
    const fd = openRegularForReading(at(this.dirFd, leaf), path);
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

  /** Closes the directory held since the last read. */
  release(): void {
    if (this.dirFd >= 0) closeQuietly(this.dirFd);
    this.dirFd = -1;
    this.parents = null;
  }
}
