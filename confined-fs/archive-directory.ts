// The file-system side of the Store contract (source-agent/store/store.ts), written once for
// both places that keep an archive in a directory: LocalStore (`file:` destinations, the
// metadata directory) and the destination helper (dest-helper/operations.ts answers each
// protocol request with one of these). So the conformance suite, run against both, checks one
// implementation: confinement beneath the root (beneath-root.ts), put through a temporary name,
// rename batches, tree removal by descriptors, listing, bounded reads that refuse anything but a
// regular file, the lock and its holder's liveness (lock-file.ts), directory syncs.
//
// Paths are archive-relative (protocol/paths.ts); anything else is refused before any file is
// touched. The two callers report failures in their own terms (StoreError with a path; the
// helper's protocol error), so each gives a FailureReporting: its error for a refused path, and
// how a failure of an operation on a path is thrown. The directory itself is opened on first use
// (a new archive's directory may not exist yet) and kept open until close.

import { fstatSync, fsync, linkSync, lstatSync, readdirSync, renameSync, type Stats, statfsSync, unlinkSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { promisify } from 'node:util';
import { isArchivePath, isEntryName, LOCK_FILE } from '../protocol/paths.js';
import { errnoOf } from '../protocol/thrown.js';
import {
  at,
  BeneathRoot,
  ConfinementError,
  closeQuietly,
  type Located,
  NEW_FILE,
  openRegularForReading,
  removeEntry,
  self,
} from './beneath-root.js';
import { releaseLockFile, takeLockFile } from './lock-file.js';
import { writeNewFile } from './new-file.js';
import { PendingWrite, temporaryName, type WriteMode } from './pending-write.js';
import { ReadableFile } from './readable-file.js';

const fsyncFd = promisify(fsync);

export interface EntryStat {
  readonly kind: 'file' | 'directory' | 'other';
  readonly size: number;
  readonly links: number;
}

/** How the caller reports failures. */
export interface FailureReporting {
  /** The error for a path that is not a clean archive path, or is "." where an entry is meant. */
  refusePath(path: string, why: 'unclean' | 'root'): Error;
  /** What to throw for `error`, a failure of an operation on archive path `path`. */
  describe(error: unknown, path: string): unknown;
}

/** The archive lock: taken (and how to release it), or held by `holder` (null: raced twice). */
export type LockOutcome = { taken: true; release(): void } | { taken: false; holder: number | null };

function kindOf(stats: Stats): EntryStat['kind'] {
  return stats.isFile() ? 'file' : stats.isDirectory() ? 'directory' : 'other';
}

export class ArchiveDirectory {
  private beneath: BeneathRoot | null = null;

  constructor(
    readonly path: string,
    private readonly report: FailureReporting,
  ) {}

  /** Opens the directory now, creating it when asked (the helper does at hello). */
  open(create: boolean): this {
    this.root(create);
    return this;
  }

  /**
   * The directory's descriptor, for threads that work beneath it themselves (the send and receive
   * workers): the very directory this object works in and holds the lock in, not the path opened
   * again, which the destination could have replaced meanwhile. It stays this object's: never
   * closed by them, valid until close().
   */
  rootDescriptor(): number {
    return this.root(false).rootFd;
  }

  private root(create: boolean): BeneathRoot {
    this.beneath ??= BeneathRoot.open(this.path, create);
    return this.beneath;
  }

  private async guard<T>(path: string, op: () => Promise<T> | T): Promise<T> {
    try {
      return await op();
    } catch (error) {
      throw this.report.describe(error, path);
    }
  }

  /** `path`, if clean; with `entry`, not the root itself either. */
  private checked(path: string, entry: boolean): string {
    if (!isArchivePath(path)) throw this.report.refusePath(path, 'unclean');
    if (entry && path === '.') throw this.report.refusePath(path, 'root');
    return path;
  }

  /** Runs `use` with the parent directory of `path` (not ".") open; missing ones made when asked. */
  private withParent<T>(path: string, create: boolean, use: (entry: Located) => Promise<T> | T): Promise<T> {
    this.checked(path, true);
    return this.guard(path, () => this.root(create).withParent(path, create, use));
  }

  /** Runs `use` with the directory `path` ("." is the root) open; made when asked. */
  private withDirectory<T>(path: string, create: boolean, use: (dirFd: number) => Promise<T> | T): Promise<T> {
    this.checked(path, false);
    return this.guard(path, () => this.root(create).withDirectory(path, create, use));
  }

  /** null when nothing is there (nor its parent). A link is "other": it is never followed. */
  async stat(path: string): Promise<EntryStat | null> {
    try {
      const s =
        this.checked(path, false) === '.'
          ? await this.withDirectory('.', false, (fd) => fstatSync(fd))
          : await this.withParent(path, false, (entry) => lstatSync(entry.path));
      return { kind: kindOf(s), size: s.size, links: s.nlink };
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return null;
      throw error;
    }
  }

  /** Sorted names; names no archive path can hold (control characters) are not the archive's: left out. */
  async list(dir: string): Promise<string[]> {
    return (await this.withDirectory(dir, false, (fd) => readdirSync(self(fd)))).filter(isEntryName).sort();
  }

  /**
   * Opens a regular file for reading (not following a link, not blocking on a FIFO); a file of
   * more than `maxBytes` fails with TOO_LARGE before anything is read. The caller closes it.
   */
  async openForReading(path: string, maxBytes: number): Promise<ReadableFile> {
    const fd = await this.withParent(path, false, (entry) => openRegularForReading(entry.path, path));
    return this.guard(path, () => {
      try {
        const size = fstatSync(fd).size;
        if (size > maxBytes) throw new ConfinementError('TOO_LARGE', `${path}: ${size} bytes, more than the ${maxBytes} allowed`);
        return new ReadableFile(fd, size, path, (error) => this.report.describe(error, path));
      } catch (error) {
        closeQuietly(fd);
        throw error;
      }
    });
  }

  /** Starts a write in pieces (see PendingWrite); `onFinished` runs once it has finished. */
  async startWrite(path: string, mode: WriteMode, onFinished?: () => void): Promise<PendingWrite> {
    this.checked(path, true);
    const parent = await this.guard(path, () => this.root(true).locate(path, true));
    return this.guard(path, async () => {
      try {
        const name = mode === 'new' ? parent.leaf : temporaryName();
        const handle = await fs.open(at(parent.dirFd, name), NEW_FILE, 0o644);
        return new PendingWrite(handle, parent, name, mode, onFinished);
      } catch (error) {
        parent.close();
        throw error;
      }
    });
  }

  /** Atomic and durable: a temporary name, synced, renamed over `path`, the directory synced. */
  async put(path: string, data: Uint8Array): Promise<void> {
    const write = await this.startWrite(path, 'replace');
    await this.guard(path, async () => {
      try {
        await write.append(data);
        await write.finish();
      } catch (error) {
        await write.abandon();
        throw error;
      }
    });
  }

  /** A new file (EEXIST if anything is there), written whole, parents made; not synced (new-file.ts). */
  async writeNewWhole(path: string, data: Uint8Array): Promise<void> {
    await this.withParent(path, true, (entry) => writeNewFile(entry.dirFd, entry.leaf, data));
  }

  /** Makes a file's data durable (fdatasync through a fresh read-only descriptor). */
  async syncFileData(path: string): Promise<void> {
    await this.withParent(path, false, async (entry) => {
      const handle = await fs.open(entry.path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
      try {
        await handle.datasync();
      } finally {
        await handle.close();
      }
    });
  }

  async fsyncDirectory(path: string): Promise<void> {
    await this.withDirectory(path, false, (fd) => fsyncFd(fd));
  }

  /** Recursive and idempotent. */
  async mkdir(path: string): Promise<void> {
    await this.withDirectory(path, true, () => {});
  }

  async link(existing: string, newPath: string): Promise<void> {
    await this.withParent(existing, false, (source) =>
      this.withParent(newPath, true, (target) => {
        linkSync(source.path, target.path);
      }),
    );
  }

  /**
   * In order; stops at the first failure (earlier renames stay done), which `failure` describes
   * (`failed` is the path being reached, or `to` for the rename itself); then syncs the changed
   * directories. Each rename walks both paths just before it acts, so an earlier rename of the
   * batch that put a link where a directory was cannot lead a later one outside.
   */
  async renameBatch(
    pairs: readonly (readonly [string, string])[],
    failure: (error: unknown, failed: string, from: string, to: string) => unknown,
  ): Promise<void> {
    // Kept open until the batch's directories are synced.
    const parents: Located[] = [];
    const locate = (path: string): Located => {
      const located = this.root(false).locate(this.checked(path, true), false);
      parents.push(located);
      return located;
    };
    try {
      for (const [from, to] of pairs) {
        let failed = from;
        try {
          const source = locate(from);
          failed = to;
          const target = locate(to);
          renameSync(source.path, target.path);
        } catch (error) {
          throw failure(error, failed, from, to);
        }
      }
      for (const parent of parents) await this.guard('.', () => fsyncFd(parent.dirFd));
    } finally {
      for (const parent of parents) parent.close();
    }
  }

  /** Idempotent: what is not there (or whose parent is not there) is removed already. */
  async remove(path: string): Promise<void> {
    await ifPresent(() => this.withParent(path, false, (entry) => unlinkSync(entry.path)));
  }

  /** Idempotent; walks by descriptors: a link found anywhere is removed itself, never followed. */
  async removeTree(path: string): Promise<void> {
    if (this.checked(path, false) === '.')
      throw this.report.describe(new ConfinementError('EINVAL', 'refusing to remove the archive directory'), path);
    await ifPresent(() => this.withParent(path, false, (entry) => removeEntry(entry.dirFd, entry.leaf)));
  }

  /** Bytes available to us on the archive's file system. */
  async freeBytes(): Promise<number> {
    return this.withDirectory('.', false, (fd) => {
      const s = statfsSync(self(fd));
      return s.bavail * s.bsize;
    });
  }

  /** The archive lock file: O_EXCL, holding our pid; one left by a process that no longer runs is taken over. */
  async takeLock(): Promise<LockOutcome> {
    return this.guard(LOCK_FILE, async () => {
      const root = this.root(false);
      const refusal = await takeLockFile(root.rootFd, LOCK_FILE);
      if (refusal === null) return { taken: true, release: () => releaseLockFile(root.rootFd, LOCK_FILE) };
      return { taken: false, holder: refusal.holder };
    });
  }

  /** Closes the directory; a later operation opens it again. */
  close(): void {
    this.beneath?.close();
    this.beneath = null;
  }
}

async function ifPresent(remove: () => Promise<void>): Promise<void> {
  try {
    await remove();
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw error;
  }
}
