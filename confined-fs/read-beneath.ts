// Reading whole files of the archive confined beneath the archive's directory descriptor: the
// receive workers read chunk files this way on `file:` destinations (engine/workers/decode-worker.ts,
// in their own threads, holding only the number of the descriptor), with the checks
// ArchiveDirectory.openForReading makes for LocalStore: the path walked from the root without
// following a link, a regular file only (no FIFO, device or link), its size bounded before a byte
// is read, and a file that shrinks while read failing with EIO rather than handing back stale
// bytes. The walk, the open and its checks are synchronous (microseconds, and the open must not
// be reordered with the walk); the bytes are read on libuv's thread pool, so that a worker has
// several chunk files in flight from the disk while it decodes the ones already read.
// Consecutive chunk files share a directory (256 MiB of addresses), so they share its walk.

import { fstatSync, read } from 'node:fs';
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
   * length is the bound (TOO_LARGE beyond it); resolves to its size. Reads of one reader may
   * overlap; its directory stays held until `release`, which the owner calls once they settled.
   */
  async read(path: string, buffer: Uint8Array): Promise<number> {
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
        const n = await readAt(fd, buffer, filled, size - filled);
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

/** One positional read on libuv's thread pool (the callback API: no FileHandle to create). */
function readAt(fd: number, buffer: Uint8Array, offset: number, length: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buffer, offset, length, offset, (error, bytes) => (error ? reject(error) : resolve(bytes)));
  });
}
