// LocalStore: the Store for `file:` destinations, directly on node:fs. Used in-process by the
// agent (no helper process for local archives), for the local metadata directory, and as the
// reference in the conformance suite. A destination directory is untrusted like a remote one;
// the file-system work (confined to the directory, walked at the moment of use, refusing links
// and anything but regular files) is confined-fs/archive-directory.ts, the same code the
// destination helper runs. What is LocalStore's own: StoreError with the path, and flush.

import { join } from 'node:path';
import { ArchiveDirectory, type FailureReporting } from '../../confined-fs/archive-directory.js';
import { LOCK_FILE } from '../../protocol/paths.js';
import { messageOf } from '../../protocol/thrown.js';
import { execFileCapture } from '../sys/exec.js';
import {
  checkArchivePath,
  fileSystemStoreError,
  type Store,
  StoreError,
  type StoreLock,
  type StoreStat,
  uncleanPathError,
} from './store.js';

const reporting: FailureReporting = {
  refusePath: (path, why) => (why === 'unclean' ? uncleanPathError(path) : new StoreError('EINVAL', path, 'not a file path')),
  describe: fileSystemStoreError,
};

export class LocalStore implements Store {
  readonly url: string;
  readonly root: string;
  private readonly directory: ArchiveDirectory;

  constructor(root: string, url = `file:${root}`) {
    this.root = root;
    this.url = url;
    this.directory = new ArchiveDirectory(root, reporting);
  }

  stat(path: string): Promise<StoreStat | null> {
    return this.directory.stat(path);
  }

  list(dir: string): Promise<string[]> {
    return this.directory.list(dir);
  }

  async read(path: string, maxBytes: number): Promise<Buffer> {
    return this.readWith(path, maxBytes, (size) => Buffer.allocUnsafe(size));
  }

  async readInto(path: string, buffer: Buffer): Promise<number> {
    return (await this.readWith(path, buffer.length, (size) => buffer.subarray(0, size))).length;
  }

  private async readWith(path: string, maxBytes: number, target: (size: number) => Buffer): Promise<Buffer> {
    const file = await this.directory.openForReading(path, maxBytes);
    try {
      const buffer = target(file.size);
      await file.fill(buffer, 0);
      return buffer;
    } finally {
      file.close();
    }
  }

  put(path: string, data: Uint8Array): Promise<void> {
    return this.directory.put(path, data);
  }

  async writeNew(path: string, data: Uint8Array): Promise<void> {
    await this.directory.writeNewWhole(path, data);
    await this.directory.syncFileData(path);
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
   * whose workers write chunk files confined through the root with confined-fs/new-file.ts, and
   * dedup's inode check); it is not itself confined.
   */
  localPath(path: string): string {
    return path === '.' ? this.root : join(this.root, checkArchivePath(path));
  }

  localRootFd(): number {
    return this.directory.rootDescriptor();
  }

  fsyncDir(path: string): Promise<void> {
    return this.directory.fsyncDirectory(path);
  }

  mkdir(path: string): Promise<void> {
    return this.directory.mkdir(path);
  }

  link(existing: string, newPath: string): Promise<void> {
    return this.directory.link(existing, newPath);
  }

  async renameBatch(pairs: readonly (readonly [string, string])[]): Promise<void> {
    for (const [from, to] of pairs) {
      checkArchivePath(from);
      checkArchivePath(to);
    }
    await this.directory.renameBatch(pairs, (error, failed) =>
      failed === '.' ? new StoreError('EINVAL', failed, 'cannot rename the archive directory') : fileSystemStoreError(error, failed),
    );
  }

  remove(path: string): Promise<void> {
    return this.directory.remove(path);
  }

  removeTree(path: string): Promise<void> {
    return this.directory.removeTree(path);
  }

  freeSpace(): Promise<number> {
    return this.directory.freeBytes();
  }

  /** A live holder's lock fails with EBUSY (see ArchiveDirectory.takeLock). */
  async lock(): Promise<StoreLock> {
    const outcome = await this.directory.takeLock();
    if (outcome.taken) return { release: async () => outcome.release() };
    if (outcome.holder !== null) throw new StoreError('EBUSY', LOCK_FILE, `archive is locked by running process ${outcome.holder}`);
    throw new StoreError('EBUSY', LOCK_FILE, 'could not take the archive lock');
  }

  async close(): Promise<void> {
    this.directory.close();
  }
}
