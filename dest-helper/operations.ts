// The helper's file operations, one per protocol request, on paths confined by ArchiveRoot:
// each walks its path from the archive's descriptor when it runs and acts relative to the
// parent directory's descriptor (confined-fs/beneath-root.ts), checking before acting.
// They move opaque bytes: nothing here reads or interprets archive content.

import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  fsync,
  linkSync,
  lstatSync,
  openSync,
  read as readCallback,
  readdirSync,
  renameSync,
  statfsSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import * as fs from 'node:fs/promises';
import { promisify } from 'node:util';
import { at, type Located, NEW_FILE, openRegularForReading, removeEntry, self } from '../confined-fs/beneath-root.js';
import { releaseLockFile, takeLockFile, unlinkQuietly } from '../confined-fs/lock-file.js';
import { errorCodeOf } from '../protocol/error-codes.js';
import { DATA_PIECE_BYTES, LIST_PIECE_NAMES } from '../protocol/messages.js';
import { isEntryName, LOCK_FILE } from '../protocol/paths.js';
import { errnoOf, messageOf } from '../protocol/thrown.js';
import { type ArchiveRoot, parentOf } from './confine.js';
import { FileSyncer } from './file-syncer.js';
import { HelperError } from './helper-error.js';

const readAt = promisify(readCallback);
const fsyncFd = promisify(fsync);

export interface StatResult {
  kind: 'file' | 'directory' | 'other';
  size: number;
  links: number;
}

export class Operations {
  /** Directories (archive paths) whose entries changed since the last flush. */
  private readonly dirty = new Set<string>();
  /** New files (archive paths), synced in batches (see FileSyncer). */
  private readonly syncer: FileSyncer;
  private lockHeld = false;

  constructor(readonly archive: ArchiveRoot) {
    this.syncer = new FileSyncer((path) =>
      archive.withParent(path, false, async (entry) => {
        const handle = await fs.open(entry.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
        try {
          await handle.datasync();
        } finally {
          await handle.close();
        }
      }),
    );
  }

  async stat(path: string): Promise<StatResult | null> {
    try {
      const s =
        path === '.'
          ? await this.archive.withDirectory('.', false, (fd) => lstatSync(self(fd)))
          : await this.archive.withParent(path, false, (entry) => lstatSync(entry.path));
      return { kind: s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other', size: s.size, links: s.nlink };
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return null;
      throw error;
    }
  }

  /** Sorted names, in pieces of at most LIST_PIECE_NAMES. */
  async list(path: string, piece: (names: string[], more: boolean) => Promise<void>): Promise<void> {
    // Names no archive path can hold (control characters) are not the archive's: left out, as
    // the agent refuses them.
    const names = (await this.archive.withDirectory(path, false, (fd) => readdirSync(self(fd)))).filter(isEntryName).sort();
    for (let i = 0; i < names.length || i === 0; i += LIST_PIECE_NAMES) {
      const end = Math.min(names.length, i + LIST_PIECE_NAMES);
      await piece(names.slice(i, end), end < names.length);
    }
  }

  /** The whole file in pieces; a file over `max` bytes fails with TOO_LARGE before any is sent. */
  async read(path: string, max: number, piece: (size: number, data: Uint8Array, more: boolean) => Promise<void>): Promise<void> {
    // Not blocking on a FIFO, and refusing anything but a regular file.
    const fd = await this.archive.withParent(path, false, (entry) => openRegularForReading(entry.path, path));
    try {
      const size = fstatSize(fd);
      if (size > max) throw new HelperError('TOO_LARGE', `${path}: ${size} bytes, more than the ${max} allowed`);
      let offset = 0;
      do {
        const data = Buffer.allocUnsafe(Math.min(DATA_PIECE_BYTES, size - offset));
        let filled = 0;
        while (filled < data.length) {
          const { bytesRead } = await readAt(fd, data, filled, data.length - filled, offset + filled);
          if (bytesRead === 0) throw new HelperError('EIO', `${path}: file shrank while being read`);
          filled += bytesRead;
        }
        offset += data.length;
        await piece(size, data, offset < size);
      } while (offset < size);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Starts a write: "new" creates the file (EEXIST if it exists) and makes its data durable
   * when finished; "replace" writes a temporary file, syncs it, renames it over the path and
   * syncs the directory, so readers see the old content or the new. The parent directory stays
   * open (as a descriptor) until the write is finished or abandoned.
   */
  async startWrite(path: string, mode: 'new' | 'replace'): Promise<PendingWrite> {
    if (path === '.') throw new HelperError('EINVAL', '".": not a clean archive-relative path');
    const parent = this.archive.locate(path, true);
    try {
      const name = mode === 'new' ? parent.leaf : `.skiff-put-${randomBytes(6).toString('hex')}`;
      const handle = await fs.open(at(parent.dirFd, name), NEW_FILE, 0o644);
      this.dirty.add(parentOf(path));
      return new PendingWrite(handle, parent, name, path, mode, this.syncer);
    } catch (error) {
      parent.close();
      throw error;
    }
  }

  /**
   * A new file that arrived whole (a chunk file, the common case): written with synchronous
   * calls, which for a file of a few hundred KiB costs less than three trips through the thread
   * pool; its sync comes later in a batch (FileSyncer).
   */
  async writeNewWhole(path: string, data: Uint8Array): Promise<void> {
    await this.archive.withParent(path, true, (entry) => {
      const fd = openSync(entry.path, NEW_FILE, 0o644);
      try {
        let done = 0;
        while (done < data.length) done += writeSync(fd, data, done, data.length - done);
      } catch (error) {
        closeSync(fd);
        unlinkQuietly(entry.path);
        throw error;
      }
      closeSync(fd);
    });
    this.dirty.add(parentOf(path));
    this.syncer.add(path);
  }

  async mkdir(path: string): Promise<void> {
    await this.archive.withDirectory(path, true, () => {});
    if (path !== '.') this.dirty.add(parentOf(path));
  }

  async link(from: string, to: string): Promise<void> {
    await this.archive.withParent(from, false, (source) =>
      this.archive.withParent(to, true, (target) => linkSync(source.path, target.path)),
    );
    this.dirty.add(parentOf(to));
  }

  /**
   * In order; stops at the first failure (earlier renames stay done); syncs the directories.
   * Each rename walks both paths just before it acts, so an earlier rename of the batch that
   * put a link where a directory was cannot lead a later one outside.
   */
  async rename(pairs: readonly (readonly [string, string])[]): Promise<void> {
    // Kept open until the batch's directories are synced.
    const parents: Located[] = [];
    const open = (path: string): Located => {
      const located = this.archive.locate(path, false);
      parents.push(located);
      return located;
    };
    try {
      for (const [from, to] of pairs) {
        try {
          const source = open(from);
          const target = open(to);
          renameSync(source.path, target.path);
        } catch (error) {
          const code = errnoOf(error);
          throw new HelperError(errorCodeOf(code), `${from} → ${to}: ${messageOf(error).replace(/^[A-Z]+: /, '')}`);
        }
      }
      for (const parent of parents) await fsyncFd(parent.dirFd);
    } finally {
      for (const parent of parents) parent.close();
    }
  }

  async remove(path: string): Promise<void> {
    await this.ifPresent(() =>
      this.archive.withParent(path, false, (entry) => {
        unlinkSync(entry.path);
      }),
    );
    this.dirty.add(parentOf(path));
  }

  async removeTree(path: string): Promise<void> {
    if (path === '.') throw new HelperError('EINVAL', 'refusing to remove the archive directory');
    // Walks by descriptors: a link found anywhere is removed itself, never followed.
    await this.ifPresent(() => this.archive.withParent(path, false, (entry) => removeEntry(entry.dirFd, entry.leaf)));
    this.dirty.add(parentOf(path));
  }

  /** Removing what is not there (or whose parent is not there) succeeds. */
  private async ifPresent(remove: () => Promise<void>): Promise<void> {
    try {
      await remove();
    } catch (error) {
      if (errnoOf(error) !== 'ENOENT') throw error;
    }
  }

  async fsyncDir(path: string): Promise<void> {
    await this.archive.withDirectory(path, false, (fd) => fsyncFd(fd));
  }

  /** Makes new files' data (FileSyncer) and every changed directory entry durable. */
  async flush(): Promise<void> {
    await this.syncer.flush();
    const dirs = [...this.dirty];
    this.dirty.clear();
    await Promise.all(dirs.map((dir) => this.ifPresent(() => this.fsyncDir(dir))));
  }

  async free(): Promise<number> {
    const s = statfsSync(self(this.archive.rootFd));
    return s.bavail * s.bsize;
  }

  /** The archive lock file (the same one a local Skiff takes): O_EXCL, holding our pid. */
  async lock(): Promise<void> {
    if (this.lockHeld) throw new HelperError('EBUSY', 'the archive is already locked by this run');
    const refusal = await takeLockFile(this.archive.rootFd, LOCK_FILE);
    if (refusal === null) {
      this.lockHeld = true;
      return;
    }
    if (refusal.holder !== null)
      throw new HelperError('EBUSY', `archive is locked by running process ${refusal.holder} on the destination`);
    throw new HelperError('EBUSY', 'could not take the archive lock');
  }

  async unlock(): Promise<void> {
    this.unlockNow();
  }

  /** At exit (also on a lost connection): the lock must not outlive the helper. */
  unlockNow(): void {
    if (!this.lockHeld) return;
    this.lockHeld = false;
    try {
      releaseLockFile(this.archive.rootFd, LOCK_FILE);
    } catch {
      // nothing more can be done at exit
    }
  }
}

/** One file being written, piece by piece, in its parent directory (held open). */
export class PendingWrite {
  written = 0;
  constructor(
    private readonly handle: fs.FileHandle,
    private readonly parent: Located,
    private readonly name: string,
    private readonly path: string,
    private readonly mode: 'new' | 'replace',
    private readonly syncer: FileSyncer,
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
      if (this.mode === 'new') this.syncer.add(this.path);
      else {
        renameSync(at(this.parent.dirFd, this.name), this.parent.path);
        await fsyncFd(this.parent.dirFd);
      }
    } finally {
      this.parent.close();
    }
  }

  /** After a failure or a lost connection: close, and remove what was written. */
  async abandon(): Promise<void> {
    await this.handle.close().catch(() => {});
    unlinkQuietly(at(this.parent.dirFd, this.name));
    this.parent.close();
  }
}

function fstatSize(fd: number): number {
  // openRegularForReading has checked the type; the size is read once, from the open file.
  return fstatSync(fd).size;
}
