// The helper's file operations, one per protocol request, on paths confined by ArchiveRoot.
// They move opaque bytes: nothing here reads or interprets archive content.

import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, rmSync, writeSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errorCodeOf } from '../protocol/error-codes.js';
import { DATA_PIECE_BYTES, LIST_PIECE_NAMES } from '../protocol/messages.js';
import { isEntryName, LOCK_FILE } from '../protocol/paths.js';
import type { ArchiveRoot } from './confine.js';
import { FileSyncer } from './file-syncer.js';
import { HelperError } from './helper-error.js';

export interface StatResult {
  kind: 'file' | 'directory' | 'other';
  size: number;
  links: number;
}

export class Operations {
  /** Directories whose entries changed since the last flush. */
  private readonly dirty = new Set<string>();
  /** New files, synced in batches (see FileSyncer). */
  private readonly syncer = new FileSyncer();
  private lockHeld = false;

  constructor(readonly archive: ArchiveRoot) {}

  async stat(path: string): Promise<StatResult | null> {
    try {
      const abs = await this.archive.resolve(path);
      const s = await fs.lstat(abs);
      return { kind: s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other', size: s.size, links: s.nlink };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  /** Sorted names, in pieces of at most LIST_PIECE_NAMES. */
  async list(path: string, piece: (names: string[], more: boolean) => Promise<void>): Promise<void> {
    const abs = await this.archive.resolveDirectory(path, false);
    // Names no archive path can hold (control characters) are not the archive's: left out, as
    // the agent refuses them.
    const names = (await fs.readdir(abs)).filter(isEntryName).sort();
    for (let i = 0; i < names.length || i === 0; i += LIST_PIECE_NAMES) {
      const end = Math.min(names.length, i + LIST_PIECE_NAMES);
      await piece(names.slice(i, end), end < names.length);
    }
  }

  /** The whole file in pieces; a file over `max` bytes fails with TOO_LARGE before any is sent. */
  async read(path: string, max: number, piece: (size: number, data: Uint8Array, more: boolean) => Promise<void>): Promise<void> {
    const abs = await this.archive.resolve(path);
    // O_NONBLOCK: a FIFO planted in the archive must not block the helper (it is refused below).
    const handle = await fs.open(abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new HelperError('EINVAL', `${path}: not a regular file`);
      if (info.size > max) throw new HelperError('TOO_LARGE', `${path}: ${info.size} bytes, more than the ${max} allowed`);
      const size = info.size;
      let offset = 0;
      do {
        const data = Buffer.allocUnsafe(Math.min(DATA_PIECE_BYTES, size - offset));
        let filled = 0;
        while (filled < data.length) {
          const { bytesRead } = await handle.read(data, filled, data.length - filled, offset + filled);
          if (bytesRead === 0) throw new HelperError('EIO', `${path}: file shrank while being read`);
          filled += bytesRead;
        }
        offset += data.length;
        await piece(size, data, offset < size);
      } while (offset < size);
    } finally {
      await handle.close();
    }
  }

  /**
   * Starts a write: "new" creates the file (EEXIST if it exists) and makes its data durable
   * when finished; "replace" writes a temporary file, syncs it, renames it over the path and
   * syncs the directory, so readers see the old content or the new.
   */
  async startWrite(path: string, mode: 'new' | 'replace'): Promise<PendingWrite> {
    const abs = await this.archive.resolveCreating(path);
    const target = mode === 'new' ? abs : join(dirname(abs), `.skiff-put-${randomBytes(6).toString('hex')}`);
    const handle = await fs.open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    this.dirty.add(dirname(abs));
    return new PendingWrite(handle, target, abs, mode, this.syncer);
  }

  /**
   * A new file that arrived whole (a chunk file, the common case): written with synchronous
   * calls, which for a file of a few hundred KiB costs less than three trips through the thread
   * pool; its sync comes later in a batch (FileSyncer).
   */
  async writeNewWhole(path: string, data: Uint8Array): Promise<void> {
    const abs = await this.archive.resolveCreating(path);
    const fd = openSync(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    try {
      let done = 0;
      while (done < data.length) done += writeSync(fd, data, done, data.length - done);
    } catch (error) {
      closeSync(fd);
      rmSync(abs, { force: true });
      throw error;
    }
    closeSync(fd);
    this.dirty.add(dirname(abs));
    this.syncer.add(abs);
  }

  async mkdir(path: string): Promise<void> {
    const abs = await this.archive.resolveDirectory(path, true);
    this.dirty.add(dirname(abs));
  }

  async link(from: string, to: string): Promise<void> {
    const source = await this.archive.resolve(from);
    const target = await this.archive.resolveCreating(to);
    await fs.link(source, target);
    this.dirty.add(dirname(target));
  }

  /** In order; stops at the first failure (earlier renames stay done); syncs the directories. */
  async rename(pairs: readonly (readonly [string, string])[]): Promise<void> {
    const touched = new Set<string>();
    try {
      for (const [from, to] of pairs) {
        const source = await this.archive.resolve(from);
        const target = await this.archive.resolve(to);
        this.archive.forget(source);
        this.archive.forget(target);
        await fs.rename(source, target).catch((error: NodeJS.ErrnoException) => {
          throw new HelperError(errorCodeOf(error.code), `${from} → ${to}: ${error.message.replace(/^[A-Z]+: /, '')}`);
        });
        touched.add(dirname(source));
        touched.add(dirname(target));
      }
    } finally {
      for (const dir of touched) {
        await syncDirectory(dir).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        });
      }
    }
  }

  async remove(path: string): Promise<void> {
    const abs = await this.resolveIfPresent(path);
    if (!abs) return;
    await fs.rm(abs, { force: true });
    this.dirty.add(dirname(abs));
  }

  async removeTree(path: string): Promise<void> {
    const abs = await this.resolveIfPresent(path);
    if (!abs) return;
    if (abs === this.archive.root) throw new HelperError('EINVAL', 'refusing to remove the archive directory');
    this.archive.forget(abs);
    // fs.rm removes symbolic links themselves and never follows them.
    await fs.rm(abs, { recursive: true, force: true });
    this.dirty.add(dirname(abs));
  }

  /** null when a parent directory does not exist (removing what is not there succeeds). */
  private async resolveIfPresent(path: string): Promise<string | null> {
    try {
      return await this.archive.resolve(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async fsyncDir(path: string): Promise<void> {
    await syncDirectory(await this.archive.resolveDirectory(path, false));
  }

  /** Makes new files' data (FileSyncer) and every changed directory entry durable. */
  async flush(): Promise<void> {
    await this.syncer.flush();
    const dirs = [...this.dirty];
    this.dirty.clear();
    await Promise.all(
      dirs.map((dir) =>
        syncDirectory(dir).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        }),
      ),
    );
  }

  async free(): Promise<number> {
    const s = await fs.statfs(this.archive.root);
    return s.bavail * s.bsize;
  }

  /** The archive lock file (the same one a local Skiff takes): O_EXCL, holding our pid. */
  async lock(): Promise<void> {
    if (this.lockHeld) throw new HelperError('EBUSY', 'the archive is already locked by this run');
    const abs = join(this.archive.root, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await fs.writeFile(abs, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
        this.lockHeld = true;
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = Number.parseInt(await fs.readFile(abs, 'utf8').catch(() => ''), 10);
        if (Number.isInteger(holder) && holder > 0 && processAlive(holder))
          throw new HelperError('EBUSY', `archive is locked by running process ${holder} on the destination`);
        await fs.rm(abs, { force: true });
      }
    }
    throw new HelperError('EBUSY', 'could not take the archive lock');
  }

  async unlock(): Promise<void> {
    if (!this.lockHeld) return;
    this.lockHeld = false;
    await fs.rm(join(this.archive.root, LOCK_FILE), { force: true });
  }

  /** At exit (also on a lost connection): the lock must not outlive the helper. */
  unlockNow(): void {
    if (!this.lockHeld) return;
    this.lockHeld = false;
    try {
      rmSync(join(this.archive.root, LOCK_FILE), { force: true });
    } catch {
      // nothing more can be done at exit
    }
  }
}

/** One file being written, piece by piece. */
export class PendingWrite {
  written = 0;
  constructor(
    private readonly handle: fs.FileHandle,
    private readonly target: string,
    private readonly final: string,
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
      if (this.mode === 'replace') await this.handle.sync();
    } finally {
      await this.handle.close();
    }
    if (this.mode === 'new') this.syncer.add(this.target);
    else {
      await fs.rename(this.target, this.final);
      await syncDirectory(dirname(this.final));
    }
  }

  /** After a failure or a lost connection: close, and remove what was written. */
  async abandon(): Promise<void> {
    await this.handle.close().catch(() => {});
    await fs.rm(this.target, { force: true }).catch(() => {});
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
