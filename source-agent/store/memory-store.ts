// MemoryStore: a Store kept in memory, for tests of the layers above the store and as a second
// implementation the conformance suite holds to the same contract as LocalStore.

import { checkArchivePath, type Store, StoreError, type StoreLock, type StoreStat } from './store.js';

interface Inode {
  data: Buffer;
  links: number;
}

type Entry = { kind: 'file'; inode: Inode } | { kind: 'directory' };

export class MemoryStore implements Store {
  readonly url: string;
  private readonly entries = new Map<string, Entry>([['.', { kind: 'directory' }]]);
  private locked = false;

  constructor(url = 'memory:') {
    this.url = url;
  }

  private parentOf(path: string): string {
    const at = path.lastIndexOf('/');
    return at < 0 ? '.' : path.slice(0, at);
  }

  private ensureParents(path: string): void {
    const parent = this.parentOf(path);
    if (parent === '.') return;
    const entry = this.entries.get(parent);
    if (entry?.kind === 'file') throw new StoreError('ENOTDIR', parent, 'not a directory');
    if (!entry) {
      this.ensureParents(parent);
      this.entries.set(parent, { kind: 'directory' });
    }
  }

  private file(path: string): Inode {
    const entry = this.entries.get(checkArchivePath(path));
    if (!entry) throw new StoreError('ENOENT', path, 'no such file');
    if (entry.kind !== 'file') throw new StoreError('EINVAL', path, 'not a regular file');
    return entry.inode;
  }

  async stat(path: string): Promise<StoreStat | null> {
    const entry = this.entries.get(checkArchivePath(path));
    if (!entry) return null;
    return entry.kind === 'file'
      ? { kind: 'file', size: entry.inode.data.length, links: entry.inode.links }
      : { kind: 'directory', size: 0, links: 1 };
  }

  async list(dir: string): Promise<string[]> {
    const entry = this.entries.get(checkArchivePath(dir));
    if (!entry) throw new StoreError('ENOENT', dir, 'no such directory');
    if (entry.kind !== 'directory') throw new StoreError('ENOTDIR', dir, 'not a directory');
    const prefix = dir === '.' ? '' : `${dir}/`;
    const names: string[] = [];
    for (const path of this.entries.keys()) {
      if (path !== '.' && path.startsWith(prefix) && !path.slice(prefix.length).includes('/')) names.push(path.slice(prefix.length));
    }
    return names.sort();
  }

  async read(path: string, maxBytes: number): Promise<Buffer> {
    const inode = this.file(path);
    if (inode.data.length > maxBytes)
      throw new StoreError('TOO_LARGE', path, `${inode.data.length} bytes, more than the ${maxBytes} allowed`);
    return Buffer.from(inode.data);
  }

  async readInto(path: string, buffer: Buffer): Promise<number> {
    const inode = this.file(path);
    if (inode.data.length > buffer.length)
      throw new StoreError('TOO_LARGE', path, `${inode.data.length} bytes, more than the ${buffer.length} allowed`);
    return inode.data.copy(buffer);
  }

  async put(path: string, data: Uint8Array): Promise<void> {
    checkArchivePath(path);
    if (this.entries.get(path)?.kind === 'directory') throw new StoreError('EISDIR', path, 'is a directory');
    this.ensureParents(path);
    this.entries.set(path, { kind: 'file', inode: { data: Buffer.from(data), links: 1 } });
  }

  async writeNew(path: string, data: Uint8Array): Promise<void> {
    checkArchivePath(path);
    if (this.entries.has(path)) throw new StoreError('EEXIST', path, 'already exists');
    await this.put(path, data);
  }

  async flush(): Promise<void> {}

  async fsyncDir(path: string): Promise<void> {
    if (this.entries.get(checkArchivePath(path))?.kind !== 'directory') throw new StoreError('ENOENT', path, 'no such directory');
  }

  async mkdir(path: string): Promise<void> {
    checkArchivePath(path);
    const entry = this.entries.get(path);
    if (entry?.kind === 'file') throw new StoreError('EEXIST', path, 'a file is in the way');
    this.ensureParents(path);
    if (!entry) this.entries.set(path, { kind: 'directory' });
  }

  async link(existing: string, newPath: string): Promise<void> {
    const inode = this.file(existing);
    checkArchivePath(newPath);
    if (this.entries.has(newPath)) throw new StoreError('EEXIST', newPath, 'already exists');
    this.ensureParents(newPath);
    inode.links++;
    this.entries.set(newPath, { kind: 'file', inode });
  }

  async renameBatch(pairs: readonly (readonly [string, string])[]): Promise<void> {
    for (const [from, to] of pairs) {
      checkArchivePath(from);
      checkArchivePath(to);
      const entry = this.entries.get(from);
      if (!entry) throw new StoreError('ENOENT', from, 'no such file or directory');
      const target = this.entries.get(to);
      if (target && target.kind !== entry.kind)
        throw new StoreError(target.kind === 'directory' ? 'EISDIR' : 'ENOTDIR', to, 'kind differs');
      if (target?.kind === 'directory' && (await this.list(to)).length > 0) throw new StoreError('EEXIST', to, 'directory not empty');
      this.ensureParents(to);
      if (target?.kind === 'file') target.inode.links--;
      const moved = [...this.entries].filter(([path]) => path === from || path.startsWith(`${from}/`));
      for (const [path] of moved) this.entries.delete(path);
      for (const [path, e] of moved) this.entries.set(to + path.slice(from.length), e);
    }
  }

  async remove(path: string): Promise<void> {
    const entry = this.entries.get(checkArchivePath(path));
    if (!entry) return;
    if (entry.kind === 'directory') throw new StoreError('EISDIR', path, 'is a directory');
    entry.inode.links--;
    this.entries.delete(path);
  }

  async removeTree(path: string): Promise<void> {
    checkArchivePath(path);
    for (const [p, entry] of [...this.entries]) {
      if (p === path || p.startsWith(`${path}/`)) {
        if (entry.kind === 'file') entry.inode.links--;
        this.entries.delete(p);
      }
    }
  }

  async freeSpace(): Promise<number> {
    return Number.MAX_SAFE_INTEGER;
  }

  async lock(): Promise<StoreLock> {
    if (this.locked) throw new StoreError('EBUSY', '.skiff-lock', 'archive is locked');
    this.locked = true;
    return {
      release: async () => {
        this.locked = false;
      },
    };
  }

  async close(): Promise<void> {}
}
