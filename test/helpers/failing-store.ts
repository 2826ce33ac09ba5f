// Fault injection for write paths: a Store wrapper that lets the first `failAt - 1` changing
// operations through and fails the `failAt`-th and every operation after it, reads included,
// as if the process had been killed there (nothing more reaches the destination). A rename
// batch counts one operation per rename, so a failure can fall between two of its renames.
// With failAt = Infinity it only counts, which gives the number of points an operation has.

import { type Store, StoreError, type StoreLock, type StoreStat } from '../../source-agent/store/store.js';

export class InjectedFault extends StoreError {
  constructor(operation: string, path: string) {
    super('EIO', path, `injected fault at ${operation}`);
  }
}

export class FailingStore implements Store {
  readonly url: string;
  private readonly inner: Store;
  failAt: number;
  /** Changing operations seen so far (including the one that failed). */
  count = 0;
  /** The operations, as "op path", in order (for messages). */
  readonly log: string[] = [];
  private dead = false;

  constructor(inner: Store, failAt = Number.POSITIVE_INFINITY) {
    this.inner = inner;
    this.url = inner.url;
    this.failAt = failAt;
  }

  get failed(): boolean {
    return this.dead;
  }

  private alive(operation: string, path: string): void {
    if (this.dead) throw new InjectedFault(`${operation} after the fault`, path);
  }

  private step(operation: string, path: string): void {
    this.alive(operation, path);
    this.count++;
    this.log.push(`${operation} ${path}`);
    if (this.count >= this.failAt) {
      this.dead = true;
      throw new InjectedFault(operation, path);
    }
  }

  stat(path: string): Promise<StoreStat | null> {
    this.alive('stat', path);
    return this.inner.stat(path);
  }
  list(dir: string): Promise<string[]> {
    this.alive('list', dir);
    return this.inner.list(dir);
  }
  read(path: string, maxBytes: number): Promise<Buffer> {
    this.alive('read', path);
    return this.inner.read(path, maxBytes);
  }
  readInto(path: string, buffer: Buffer): Promise<number> {
    this.alive('read', path);
    return this.inner.readInto(path, buffer);
  }
  async put(path: string, data: Uint8Array): Promise<void> {
    this.step('put', path);
    await this.inner.put(path, data);
  }
  async writeNew(path: string, data: Uint8Array): Promise<void> {
    this.step('writeNew', path);
    await this.inner.writeNew(path, data);
  }
  async fsyncDir(path: string): Promise<void> {
    this.alive('fsyncDir', path);
    await this.inner.fsyncDir(path);
  }
  async flush(): Promise<void> {
    this.alive('flush', '.');
    await this.inner.flush();
  }
  async mkdir(path: string): Promise<void> {
    this.step('mkdir', path);
    await this.inner.mkdir(path);
  }
  async link(existing: string, newPath: string): Promise<void> {
    this.step('link', newPath);
    await this.inner.link(existing, newPath);
  }
  async renameBatch(pairs: readonly (readonly [string, string])[]): Promise<void> {
    for (const pair of pairs) {
      this.step('rename', `${pair[0]} -> ${pair[1]}`);
      await this.inner.renameBatch([pair]);
    }
  }
  async remove(path: string): Promise<void> {
    this.step('remove', path);
    await this.inner.remove(path);
  }
  async removeTree(path: string): Promise<void> {
    this.step('removeTree', path);
    await this.inner.removeTree(path);
  }
  freeSpace(): Promise<number> {
    this.alive('freeSpace', '.');
    return this.inner.freeSpace();
  }
  lock(): Promise<StoreLock> {
    return this.inner.lock();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
