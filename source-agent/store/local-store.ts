// LocalStore: the Store for `file:` destinations, directly on node:fs. Used in-process by the
// agent (no helper process for local archives), for the local metadata directory, and as the
// reference in the conformance suite. A destination directory is untrusted like a remote one:
// every operation walks its path from a descriptor of the root at the moment of use, refusing
// symbolic links on the way (confined-fs/beneath-root.ts), and reads refuse anything but a
// regular file without blocking on it (a FIFO planted in the archive must not hang a verify).

import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  fsync,
  linkSync,
  lstatSync,
  read as readCallback,
  readdirSync,
  renameSync,
  type Stats,
  statfsSync,
  unlinkSync,
} from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { at, BeneathRoot, type Located, NEW_FILE, openRegularForReading, removeEntry, self } from '../../confined-fs/beneath-root.js';
import { releaseLockFile, takeLockFile, unlinkQuietly } from '../../confined-fs/lock-file.js';
import { isEntryName, LOCK_FILE } from '../../protocol/paths.js';
import { errnoOf, messageOf } from '../../protocol/thrown.js';
import { execFileCapture } from '../sys/exec.js';
import { checkArchivePath, type Store, StoreError, type StoreLock, type StoreStat, storeErrorCode } from './store.js';

const readAt = promisify(readCallback);
const fsyncFd = promisify(fsync);

function storeError(error: unknown, path: string): StoreError {
  if (error instanceof StoreError) return error;
  let message = messageOf(error).replace(/^[A-Z]+: /, '');
  // confined-fs names the path itself; StoreError adds it again.
  if (message.startsWith(`${path}: `)) message = message.slice(path.length + 2);
  return new StoreError(storeErrorCode(errnoOf(error)), path, message);
}

function kindOf(stats: Stats): StoreStat['kind'] {
  return stats.isFile() ? 'file' : stats.isDirectory() ? 'directory' : 'other';
}

export class LocalStore implements Store {
  readonly url: string;
  readonly root: string;
  /** The root directory, opened on first use (a new archive's directory may not exist yet). */
  private beneath: BeneathRoot | null = null;

  constructor(root: string, url = `file:${root}`) {
    this.root = root;
    this.url = url;
  }

  /** The root, opened once and kept; with `create`, made first when missing. */
  private opened(create: boolean): BeneathRoot {
    this.beneath ??= BeneathRoot.open(this.root, create);
    return this.beneath;
  }

  private async guard<T>(path: string, op: () => Promise<T> | T): Promise<T> {
    try {
      return await op();
    } catch (error) {
      throw storeError(error, path);
    }
  }

  /** Runs `use` with the parent directory of `path` (not ".") open; missing ones made when asked. */
  private withParent<T>(path: string, create: boolean, use: (entry: Located) => Promise<T> | T): Promise<T> {
    checkArchivePath(path);
    if (path === '.') throw new StoreError('EINVAL', path, 'not a file path');
    return this.guard(path, () => this.opened(create).withParent(path, create, use));
  }

  /** Runs `use` with the directory `path` ("." is the root) open; made when asked. */
  private withDirectory<T>(path: string, create: boolean, use: (dirFd: number) => Promise<T> | T): Promise<T> {
    checkArchivePath(path);
    return this.guard(path, () => this.opened(create).withDirectory(path, create, use));
  }

  async stat(path: string): Promise<StoreStat | null> {
    try {
      const s =
        checkArchivePath(path) === '.'
          ? await this.withDirectory('.', false, (fd) => fstatSync(fd))
          : await this.withParent(path, false, (entry) => lstatSync(entry.path));
      return { kind: kindOf(s), size: s.size, links: s.nlink };
    } catch (error) {
      if (error instanceof StoreError && error.code === 'ENOENT') return null;
      throw error;
    }
  }

  async list(dir: string): Promise<string[]> {
    // Names no archive path can hold (control characters) are not the archive's: left out.
    return (await this.withDirectory(dir, false, (fd) => readdirSync(self(fd)))).filter(isEntryName).sort();
  }

  async read(path: string, maxBytes: number): Promise<Buffer> {
    return this.readWith(path, maxBytes, (size) => Buffer.allocUnsafe(size));
  }

  async readInto(path: string, buffer: Buffer): Promise<number> {
    return (await this.readWith(path, buffer.length, (size) => buffer.subarray(0, size))).length;
  }

  private async readWith(path: string, maxBytes: number, target: (size: number) => Buffer): Promise<Buffer> {
    // Not following a link, not blocking on a FIFO, refusing anything but a regular file.
    const fd = await this.withParent(path, false, (entry) => openRegularForReading(entry.path, path));
    return this.guard(path, async () => {
      try {
        const size = fstatSync(fd).size;
        if (size > maxBytes) throw new StoreError('TOO_LARGE', path, `${size} bytes, more than the ${maxBytes} allowed`);
        const buffer = target(size);
        let filled = 0;
        while (filled < size) {
          const { bytesRead } = await readAt(fd, buffer, filled, size - filled, filled);
          if (bytesRead === 0) throw new StoreError('EIO', path, 'file shrank while being read');
          filled += bytesRead;
        }
        return buffer;
      } finally {
        closeSync(fd);
      }
    });
  }

  async put(path: string, data: Uint8Array): Promise<void> {
    return this.withParent(path, true, async (entry) => {
      const tmp = at(entry.dirFd, `.skiff-put-${randomBytes(6).toString('hex')}`);
      try {
        const handle = await fs.open(tmp, NEW_FILE, 0o644);
        try {
          await handle.writeFile(data);
          await handle.sync();
        } finally {
          await handle.close();
        }
        renameSync(tmp, entry.path);
      } catch (error) {
        unlinkQuietly(tmp);
        throw error;
      }
      await fsyncFd(entry.dirFd);
    });
  }

  async writeNew(path: string, data: Uint8Array): Promise<void> {
    return this.withParent(path, true, async (entry) => {
      const handle = await fs.open(entry.path, NEW_FILE, 0o644);
      try {
        await handle.writeFile(data);
        await handle.datasync();
      } finally {
        await handle.close();
      }
    });
  }

  /** syncfs() of the destination's file system (coreutils `sync -f`): one call for all chunk files. */
  async flush(): Promise<void> {
    try {
      await execFileCapture(['sync', '-f', this.root]);
    } catch (error) {
      throw new StoreError('EIO', '.', `could not flush the destination to disk: ${messageOf(error)}`);
    }
  }

  /**
   * The absolute path, for callers that look at the destination themselves (the send pipeline,
   * which writes chunk files confined through the root with confined-fs, and dedup's inode
   * check); it is not itself confined.
   */
  localPath(path: string): string {
    return path === '.' ? this.root : join(this.root, checkArchivePath(path));
  }

  async fsyncDir(path: string): Promise<void> {
    return this.withDirectory(path, false, (fd) => fsyncFd(fd));
  }

  async mkdir(path: string): Promise<void> {
    return this.withDirectory(path, true, () => {});
  }

  async link(existing: string, newPath: string): Promise<void> {
    return this.withParent(existing, false, (source) =>
      this.withParent(newPath, true, (target) => {
        linkSync(source.path, target.path);
      }),
    );
  }

  /**
   * Each rename walks both of its paths just before it acts, so an earlier rename of the batch
   * that put a link where a directory was cannot lead a later one outside.
   */
  async renameBatch(pairs: readonly (readonly [string, string])[]): Promise<void> {
    for (const [from, to] of pairs) {
      checkArchivePath(from);
      checkArchivePath(to);
    }
    // Kept open until the batch's directories are synced.
    const parents: Located[] = [];
    const locate = (path: string): Located => {
      if (path === '.') throw new StoreError('EINVAL', path, 'cannot rename the archive directory');
      try {
        const located = this.opened(false).locate(path, false);
        parents.push(located);
        return located;
      } catch (error) {
        throw storeError(error, path);
      }
    };
    try {
      for (const [from, to] of pairs) {
        const source = locate(from);
        const target = locate(to);
        try {
          renameSync(source.path, target.path);
        } catch (error) {
          throw storeError(error, to);
        }
      }
      for (const parent of parents) await this.guard('.', () => fsyncFd(parent.dirFd));
    } finally {
      for (const parent of parents) parent.close();
    }
  }

  async remove(path: string): Promise<void> {
    try {
      await this.withParent(path, false, (entry) => unlinkSync(entry.path));
    } catch (error) {
      if (!(error instanceof StoreError && error.code === 'ENOENT')) throw error;
    }
  }

  async removeTree(path: string): Promise<void> {
    if (checkArchivePath(path) === '.') throw new StoreError('EINVAL', path, 'refusing to remove the archive directory');
    try {
      // Walks by descriptors: a link found anywhere is removed itself, never followed.
      await this.withParent(path, false, (entry) => removeEntry(entry.dirFd, entry.leaf));
    } catch (error) {
      if (!(error instanceof StoreError && error.code === 'ENOENT')) throw error;
    }
  }

  async freeSpace(): Promise<number> {
    return this.withDirectory('.', false, (fd) => {
      const s = statfsSync(self(fd));
      return s.bavail * s.bsize;
    });
  }

  /**
   * A lock file created with O_EXCL and holding our pid. A lock left by a process that no
   * longer exists on this machine is taken over; a live one fails with EBUSY.
   */
  async lock(): Promise<StoreLock> {
    return this.guard(LOCK_FILE, async () => {
      const root = this.opened(false);
      const refusal = await takeLockFile(root.rootFd, LOCK_FILE);
      if (refusal === null) return { release: async () => releaseLockFile(root.rootFd, LOCK_FILE) };
      if (refusal.holder !== null) throw new StoreError('EBUSY', LOCK_FILE, `archive is locked by running process ${refusal.holder}`);
      throw new StoreError('EBUSY', LOCK_FILE, 'could not take the archive lock');
    });
  }

  async close(): Promise<void> {
    this.beneath?.close();
    this.beneath = null;
  }
}
