// RemoteStore: the Store contract over a HelperConnection. Paths are checked here before they
// are sent, and every result is checked again when it comes back: names must be single path
// segments, sizes must match the data, nothing may exceed the caller's bound.

import { inert } from '../../../protocol/inert-text.js';
import { DATA_PIECE_BYTES, MAX_RENAMES, type Reply } from '../../../protocol/messages.js';
import { isEntryName, LOCK_FILE } from '../../../protocol/paths.js';
import { checkArchivePath, type Store, type StoreLock, type StoreStat } from '../store.js';
import type { HelperConnection } from './helper-connection.js';
import { listBudget, readBudget } from './request-budget.js';

export class RemoteStore implements Store {
  constructor(
    readonly url: string,
    private readonly connection: HelperConnection,
  ) {}

  async stat(path: string): Promise<StoreStat | null> {
    const { stat } = await this.connection.request('stat', { path: checkArchivePath(path) }, { path });
    return stat ? { kind: stat.kind, size: stat.size, links: stat.links } : null;
  }

  async list(dir: string): Promise<string[]> {
    const names: string[] = [];
    const take = (reply: Reply<'list'>) => {
      for (const untrustedName of reply.names) {
        if (!isEntryName(untrustedName)) this.violation(`list of ${dir} returned the name "${inert(untrustedName)}"`);
        names.push(untrustedName);
      }
    };
    // The connection stops a flood of names or pieces before they are kept (listBudget).
    take(await this.connection.request('list', { path: checkArchivePath(dir) }, { path: dir, piece: take, budget: listBudget() }));
    // Sorted by code unit, as the local store sorts; the helper's order is not relied on.
    return names.sort();
  }

  async read(path: string, maxBytes: number): Promise<Buffer> {
    return this.readWith(path, maxBytes, (size) => Buffer.allocUnsafe(size));
  }

  async readInto(path: string, buffer: Buffer): Promise<number> {
    return (await this.readWith(path, buffer.length, (size) => buffer.subarray(0, size))).length;
  }

  private async readWith(path: string, maxBytes: number, target: (size: number) => Buffer): Promise<Buffer> {
    // Filled by `take`, a closure: kept in an object so that the checks after the request see
    // its declared type rather than the `null` it started as.
    const got: { out: Buffer | null; filled: number } = { out: null, filled: 0 };
    const take = (reply: Reply<'read'>) => {
      const { size: untrustedSize, data } = reply;
      if (untrustedSize > maxBytes) this.violation(`read of ${path} announced ${untrustedSize} bytes, over the ${maxBytes} asked for`);
      got.out ??= target(untrustedSize);
      const out = got.out;
      if (untrustedSize !== out.length || got.filled + data.length > out.length)
        this.violation(`read of ${path} sent more data than the ${out.length} bytes it announced`);
      out.set(data, got.filled);
      got.filled += data.length;
    };
    take(
      await this.connection.request(
        'read',
        { path: checkArchivePath(path), max: maxBytes },
        { path, piece: take, budget: readBudget(maxBytes) },
      ),
    );
    const { out, filled } = got;
    if (!out || filled !== out.length) this.violation(`read of ${path} ended after ${filled} of ${out?.length ?? 0} bytes`);
    return out;
  }

  put(path: string, data: Uint8Array): Promise<void> {
    return this.write(path, data, 'replace');
  }

  writeNew(path: string, data: Uint8Array): Promise<void> {
    return this.write(path, data, 'new');
  }

  private async write(path: string, data: Uint8Array, mode: 'new' | 'replace'): Promise<void> {
    // The first piece goes with the request (empty for an empty file), the rest in `more` frames.
    const first = data.subarray(0, DATA_PIECE_BYTES);
    const rest: Uint8Array[] = [];
    for (let offset = DATA_PIECE_BYTES; offset < data.length; offset += DATA_PIECE_BYTES) {
      rest.push(data.subarray(offset, Math.min(data.length, offset + DATA_PIECE_BYTES)));
    }
    await this.connection.request(
      'write',
      { path: checkArchivePath(path), mode, size: data.length, data: first, more: rest.length > 0 },
      { path, payloadBytes: data.length, continuation: rest },
    );
  }

  async fsyncDir(path: string): Promise<void> {
    await this.connection.request('fsyncDir', { path: checkArchivePath(path) }, { path });
  }

  async flush(): Promise<void> {
    await this.connection.request('flush', {});
  }

  async mkdir(path: string): Promise<void> {
    await this.connection.request('mkdir', { path: checkArchivePath(path) }, { path });
  }

  async link(existing: string, newPath: string): Promise<void> {
    await this.connection.request('link', { from: checkArchivePath(existing), to: checkArchivePath(newPath) }, { path: newPath });
  }

  async renameBatch(pairs: readonly (readonly [string, string])[]): Promise<void> {
    for (const [from, to] of pairs) {
      checkArchivePath(from);
      checkArchivePath(to);
    }
    for (let i = 0; i < pairs.length; i += MAX_RENAMES) {
      const batch = pairs.slice(i, i + MAX_RENAMES).map(([from, to]): [string, string] => [from, to]);
      await this.connection.request('rename', { pairs: batch }, { path: pairs[i]?.[0] ?? '.' });
    }
  }

  async remove(path: string): Promise<void> {
    await this.connection.request('remove', { path: checkArchivePath(path) }, { path });
  }

  async removeTree(path: string): Promise<void> {
    await this.connection.request('removeTree', { path: checkArchivePath(path) }, { path });
  }

  async freeSpace(): Promise<number> {
    return (await this.connection.request('free', {})).bytes;
  }

  async lock(): Promise<StoreLock> {
    await this.connection.request('lock', {}, { path: LOCK_FILE });
    return { release: async () => void (await this.connection.request('unlock', {}, { path: LOCK_FILE })) };
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  /** A result that contradicts the request: the helper is not to be trusted any further. */
  private violation(message: string): never {
    throw this.connection.fatal(`the destination helper sent an invalid reply: ${message}`);
  }
}
