// A regular file of the archive open for reading (ArchiveDirectory.openForReading: not through a
// link, not a FIFO or device, its size checked against the reader's bound), read in ranges: whole
// by LocalStore, in protocol-sized pieces by the destination helper. A file that ends before its
// size was read fails with EIO instead of handing back a buffer with stale bytes at its end.

import { read as readCallback } from 'node:fs';
import { promisify } from 'node:util';
import { ConfinementError, closeQuietly } from './beneath-root.js';

const readAt = promisify(readCallback);

/** A regular file open for reading, its size known; read in ranges, then closed. */
export class ReadableFile {
  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly path: string,
    /** What to throw for a failure (the owner's FailureReporting.describe). */
    private readonly fail: (error: unknown) => unknown,
  ) {}

  /** Fills `buffer` with the bytes at `position`; the file ending early is EIO. */
  async fill(buffer: Uint8Array, position: number): Promise<void> {
    try {
      let filled = 0;
      while (filled < buffer.length) {
        const { bytesRead } = await readAt(this.fd, buffer, filled, buffer.length - filled, position + filled);
        if (bytesRead === 0) throw new ConfinementError('EIO', `${this.path}: file shrank while being read`);
        filled += bytesRead;
      }
    } catch (error) {
      throw this.fail(error);
    }
  }

  close(): void {
    closeQuietly(this.fd);
  }
}
