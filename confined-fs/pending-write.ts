// A file being written in pieces, in its parent directory (held open as a descriptor until the
// write is finished or abandoned). "new" creates the file itself (EEXIST if anything is there);
// its data becomes durable with a later flush. "replace" writes a temporary name beside it,
// syncs it, renames it over the file and syncs the directory: readers see the old content or the
// new, never a mix. Used by ArchiveDirectory.put (LocalStore) and the helper's piecewise writes.

import { randomBytes } from 'node:crypto';
import { fsync, renameSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { at, type Located, unlinkQuietly } from './beneath-root.js';

const fsyncFd = promisify(fsync);

export type WriteMode = 'new' | 'replace';

/** The temporary name of a "replace" write (a dot file: no archive object starts with ".skiff-"). */
export function temporaryName(): string {
  return `.skiff-put-${randomBytes(6).toString('hex')}`;
}

export class PendingWrite {
  written = 0;
  /** The parent's descriptor is closed: nothing may be done through it any more. */
  private done = false;

  constructor(
    private readonly handle: FileHandle,
    private readonly parent: Located,
    /** The name being written in the parent: the file's own ("new") or a temporary one. */
    private readonly name: string,
    private readonly mode: WriteMode,
    private readonly onFinished?: () => void,
  ) {}

  async append(data: Uint8Array): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.handle.write(data, done, data.length - done, this.written + done);
      done += bytesWritten;
    }
    this.written += data.length;
  }

  async finish(): Promise<void> {
    // A new file (a chunk of a session being sent) becomes durable with the next flush, which
    // comes before anything refers to it; a replaced file is durable now.
    try {
      try {
        if (this.mode === 'replace') await this.handle.sync();
      } finally {
        await this.handle.close();
      }
      if (this.mode === 'replace') {
        renameSync(at(this.parent.dirFd, this.name), this.parent.path);
        await fsyncFd(this.parent.dirFd);
      }
    } catch (error) {
      // Not finished: what was written goes (once renamed, the temporary name is gone already).
      unlinkQuietly(at(this.parent.dirFd, this.name));
      throw error;
    } finally {
      this.close();
    }
    this.onFinished?.();
  }

  /** After a failure or a lost connection: close, and remove what was written. */
  async abandon(): Promise<void> {
    if (this.done) return;
    await this.handle.close().catch(() => {});
    unlinkQuietly(at(this.parent.dirFd, this.name));
    this.close();
  }

  private close(): void {
    this.done = true;
    this.parent.close();
  }
}
