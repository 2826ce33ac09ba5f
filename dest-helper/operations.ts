// The helper's file operations, one per protocol request. The file-system work is
// confined-fs/archive-directory.ts (the code LocalStore runs too: every path walked from the
// archive's descriptor when the request runs, never through a link); what is the helper's own
// is the protocol's shape (lists and reads in pieces), the lock held for the session, and how
// new files and changed directories become durable: in batches, at flush (FileSyncer).
// They move opaque bytes: nothing here reads or interprets archive content.

import type { ArchiveDirectory, EntryStat } from '../confined-fs/archive-directory.js';
import type { PendingWrite } from '../confined-fs/pending-write.js';
import { errorCodeOf } from '../protocol/error-codes.js';
import { DATA_PIECE_BYTES, LIST_PIECE_NAMES } from '../protocol/messages.js';
import { errnoOf, messageOf } from '../protocol/thrown.js';
import { parentOf } from './confine.js';
import { FileSyncer } from './file-syncer.js';
import { HelperError } from './helper-error.js';

export type { PendingWrite } from '../confined-fs/pending-write.js';

export class Operations {
  /** Directories (archive paths) whose entries changed since the last flush. */
  private readonly dirty = new Set<string>();
  /** New files (archive paths), synced in batches (see FileSyncer). */
  private readonly syncer: FileSyncer;
  /** Releases the archive lock, while this session holds it. */
  private releaseLock: (() => void) | null = null;

  constructor(readonly archive: ArchiveDirectory) {
    this.syncer = new FileSyncer((path) => archive.syncFileData(path));
  }

  stat(path: string): Promise<EntryStat | null> {
    return this.archive.stat(path);
  }

  /** Sorted names, in pieces of at most LIST_PIECE_NAMES. */
  async list(path: string, piece: (names: string[], more: boolean) => Promise<void>): Promise<void> {
    const names = await this.archive.list(path);
    for (let i = 0; i < names.length || i === 0; i += LIST_PIECE_NAMES) {
      const end = Math.min(names.length, i + LIST_PIECE_NAMES);
      await piece(names.slice(i, end), end < names.length);
    }
  }

  /** The whole file in pieces; a file over `max` bytes fails with TOO_LARGE before any is sent. */
  async read(path: string, max: number, piece: (size: number, data: Uint8Array, more: boolean) => Promise<void>): Promise<void> {
    const file = await this.archive.openForReading(path, max);
    try {
      const size = file.size;
      let offset = 0;
      do {
        const data = Buffer.allocUnsafe(Math.min(DATA_PIECE_BYTES, size - offset));
        await file.fill(data, offset);
        offset += data.length;
        await piece(size, data, offset < size);
      } while (offset < size);
    } finally {
      file.close();
    }
  }

  /**
   * Starts a write (confined-fs/pending-write.ts): a "new" file's data becomes durable at the
   * next flush; a "replace" is durable when finished.
   */
  async startWrite(path: string, mode: 'new' | 'replace'): Promise<PendingWrite> {
    const pending = await this.archive.startWrite(path, mode, mode === 'new' ? () => this.syncer.add(path) : undefined);
    this.dirty.add(parentOf(path));
    return pending;
  }

  /** A new file that arrived whole (a chunk file, the common case); its sync comes later in a batch. */
  async writeNewWhole(path: string, data: Uint8Array): Promise<void> {
    await this.archive.writeNewWhole(path, data);
    this.dirty.add(parentOf(path));
    this.syncer.add(path);
  }

  async mkdir(path: string): Promise<void> {
    await this.archive.mkdir(path);
    if (path !== '.') this.dirty.add(parentOf(path));
  }

  async link(from: string, to: string): Promise<void> {
    await this.archive.link(from, to);
    this.dirty.add(parentOf(to));
  }

  /** In order; stops at the first failure (earlier renames stay done); syncs the directories. */
  async rename(pairs: readonly (readonly [string, string])[]): Promise<void> {
    await this.archive.renameBatch(
      pairs,
      (error, _failed, from, to) =>
        new HelperError(errorCodeOf(errnoOf(error)), `${from} → ${to}: ${messageOf(error).replace(/^[A-Z]+: /, '')}`),
    );
  }

  async remove(path: string): Promise<void> {
    await this.archive.remove(path);
    this.dirty.add(parentOf(path));
  }

  async removeTree(path: string): Promise<void> {
    await this.archive.removeTree(path);
    this.dirty.add(parentOf(path));
  }

  async fsyncDir(path: string): Promise<void> {
    await this.archive.fsyncDirectory(path);
  }

  /** Makes new files' data (FileSyncer) and every changed directory entry durable. */
  async flush(): Promise<void> {
    await this.syncer.flush();
    const dirs = [...this.dirty];
    this.dirty.clear();
    // A directory removed since it changed needs no sync.
    await Promise.all(
      dirs.map((dir) =>
        this.fsyncDir(dir).catch((error: unknown) => {
          if (errnoOf(error) !== 'ENOENT') throw error;
        }),
      ),
    );
  }

  free(): Promise<number> {
    return this.archive.freeBytes();
  }

  /** The archive lock file (the same one a local Skiff takes): O_EXCL, holding our pid. */
  async lock(): Promise<void> {
    if (this.releaseLock) throw new HelperError('EBUSY', 'the archive is already locked by this run');
    const outcome = await this.archive.takeLock();
    if (outcome.taken) {
      this.releaseLock = outcome.release;
      return;
    }
    if (outcome.holder !== null)
      throw new HelperError('EBUSY', `archive is locked by running process ${outcome.holder} on the destination`);
    throw new HelperError('EBUSY', 'could not take the archive lock');
  }

  async unlock(): Promise<void> {
    this.unlockNow();
  }

  /** At exit (also on a lost connection): the lock must not outlive the helper. */
  unlockNow(): void {
    const release = this.releaseLock;
    if (!release) return;
    this.releaseLock = null;
    try {
      release();
    } catch {
      // nothing more can be done at exit
    }
  }
}
