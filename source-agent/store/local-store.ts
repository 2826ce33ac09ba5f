// LocalStore: the Store for `file:` destinations, directly on node:fs. Used in-process by the
// agent (no helper process for local archives) and as the reference in the conformance suite.

import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import * as fs from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isEntryName, LOCK_FILE } from '../../protocol/paths.js';
import { execFileCapture } from '../sys/exec.js';
import { checkArchivePath, type Store, StoreError, type StoreLock, type StoreStat, storeErrorCode } from './store.js';

function storeError(error: unknown, path: string): StoreError {
  if (error instanceof StoreError) return error;
  return new StoreError(storeErrorCode((error as NodeJS.ErrnoException).code), path, (error as Error).message.replace(/^[A-Z]+: /, ''));
}

function kindOf(stats: Stats): StoreStat['kind'] {
  return stats.isFile() ? 'file' : stats.isDirectory() ? 'directory' : 'other';
}

export class LocalStore implements Store {
  readonly url: string;
  readonly root: string;

  constructor(root: string, url = `file:${root}`) {
    this.root = root;
    this.url = url;
  }

  private abs(path: string): string {
    return join(this.root, checkArchivePath(path));
  }

  private async guard<T>(path: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (error) {
      throw storeError(error, path);
    }
  }

  async stat(path: string): Promise<StoreStat | null> {
    const abs = this.abs(path);
    return this.guard(path, async () => {
      try {
        const s = await fs.lstat(abs);
        return { kind: kindOf(s), size: s.size, links: s.nlink };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
    });
  }

  async list(dir: string): Promise<string[]> {
    const abs = this.abs(dir);
    // Names no archive path can hold (control characters) are not the archive's: left out.
    return this.guard(dir, async () => (await fs.readdir(abs)).filter(isEntryName).sort());
  }

  async read(path: string, maxBytes: number): Promise<Buffer> {
    return this.readWith(path, maxBytes, (size) => Buffer.allocUnsafe(size));
  }

  async readInto(path: string, buffer: Buffer): Promise<number> {
    return (await this.readWith(path, buffer.length, (size) => buffer.subarray(0, size))).length;
  }

  private async readWith(path: string, maxBytes: number, target: (size: number) => Buffer): Promise<Buffer> {
    const abs = this.abs(path);
    return this.guard(path, async () => {
      // O_NOFOLLOW: a symlink planted in the archive is refused instead of followed.
      const handle = await fs.open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        const stats = await handle.stat();
        if (!stats.isFile()) throw new StoreError('EINVAL', path, 'not a regular file');
        if (stats.size > maxBytes) throw new StoreError('TOO_LARGE', path, `${stats.size} bytes, more than the ${maxBytes} allowed`);
        const buffer = target(stats.size);
        let filled = 0;
        while (filled < stats.size) {
          const { bytesRead } = await handle.read(buffer, filled, stats.size - filled, filled);
          if (bytesRead === 0) throw new StoreError('EIO', path, 'file shrank while being read');
          filled += bytesRead;
        }
        return buffer;
      } finally {
        await handle.close();
      }
    });
  }

  async put(path: string, data: Uint8Array): Promise<void> {
    const abs = this.abs(path);
    return this.guard(path, async () => {
      const dir = dirname(abs);
      await fs.mkdir(dir, { recursive: true });
      const tmp = join(dir, `.skiff-put-${randomBytes(6).toString('hex')}`);
      try {
        const handle = await fs.open(tmp, 'wx', 0o644);
        try {
          await handle.writeFile(data);
          await handle.sync();
        } finally {
          await handle.close();
        }
        await fs.rename(tmp, abs);
      } catch (error) {
        await fs.rm(tmp, { force: true });
        throw error;
      }
      await syncDir(dir);
    });
  }

  async writeNew(path: string, data: Uint8Array): Promise<void> {
    const abs = this.abs(path);
    return this.guard(path, async () => {
      let handle: fs.FileHandle;
      try {
        handle = await fs.open(abs, 'wx', 0o644);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        await fs.mkdir(dirname(abs), { recursive: true });
        handle = await fs.open(abs, 'wx', 0o644);
      }
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
      throw new StoreError('EIO', '.', `could not flush the destination to disk: ${(error as Error).message}`);
    }
  }

  localPath(path: string): string {
    return path === '.' ? this.root : this.abs(path);
  }

  async fsyncDir(path: string): Promise<void> {
    const abs = this.abs(path);
    return this.guard(path, () => syncDir(abs));
  }

  async mkdir(path: string): Promise<void> {
    const abs = this.abs(path);
    return this.guard(path, async () => {
      await fs.mkdir(abs, { recursive: true });
    });
  }

  async link(existing: string, newPath: string): Promise<void> {
    const from = this.abs(existing);
    const to = this.abs(newPath);
    return this.guard(newPath, async () => {
      await fs.mkdir(dirname(to), { recursive: true });
      await fs.link(from, to);
    });
  }

  async renameBatch(pairs: readonly (readonly [string, string])[]): Promise<void> {
    const resolved = pairs.map(([from, to]) => [this.abs(from), this.abs(to), to] as const);
    return this.guard(pairs[0]?.[0] ?? '.', async () => {
      const touched = new Set<string>();
      for (const [from, to, rel] of resolved) {
        try {
          await fs.rename(from, to);
        } catch (error) {
          throw storeError(error, rel);
        }
        touched.add(dirname(from));
        touched.add(dirname(to));
      }
      // A renamed directory's old path is gone; its new parent is in the set anyway.
      for (const dir of touched)
        await syncDir(dir).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        });
    });
  }

  async remove(path: string): Promise<void> {
    const abs = this.abs(path);
    return this.guard(path, async () => {
      await fs.rm(abs, { force: true });
    });
  }

  async removeTree(path: string): Promise<void> {
    const abs = this.abs(path);
    return this.guard(path, async () => {
      await fs.rm(abs, { recursive: true, force: true });
    });
  }

  async freeSpace(): Promise<number> {
    return this.guard('.', async () => {
      const s = await fs.statfs(this.root);
      return s.bavail * s.bsize;
    });
  }

  /**
   * A lock file created with O_EXCL and holding our pid. A lock left by a process that no
   * longer exists on this machine is taken over; a live one fails with EBUSY.
   */
  async lock(): Promise<StoreLock> {
    const abs = join(this.root, LOCK_FILE);
    return this.guard(LOCK_FILE, async () => {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          await fs.writeFile(abs, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
          return { release: () => fs.rm(abs, { force: true }) };
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
          const holder = Number.parseInt(await fs.readFile(abs, 'utf8').catch(() => ''), 10);
          if (Number.isInteger(holder) && holder > 0 && processAlive(holder)) {
            throw new StoreError('EBUSY', LOCK_FILE, `archive is locked by running process ${holder}`);
          }
          await fs.rm(abs, { force: true });
        }
      }
      throw new StoreError('EBUSY', LOCK_FILE, 'could not take the archive lock');
    });
  }

  async close(): Promise<void> {}
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** fsync a directory so that renames and new entries in it survive a crash. */
async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
