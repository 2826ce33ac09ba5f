// The session a send is writing: Vol_x/S-tmp/ and the chunk files in it (format spec §13.2).
// The send's chunk pipeline writes chunk files here, either through the Store (writeNew: not
// durable by itself; Transaction.stageSession flushes before anything points at them) or, on a
// file: destination, from its workers beneath the archive directory (localRootFd). Clearing it
// drops whatever an earlier, failed attempt left.

import type { Store } from '../store/store.js';
import { layout } from './layout.js';
import type { VolumeId } from './names.js';

/** Where the chunk pipeline puts new chunk files. */
export interface ChunkSink {
  /** Creates a chunk file that must not exist yet (Store.writeNew). */
  writeChunk(path: string, data: Uint8Array): Promise<void>;
  /**
   * On a file: destination, the descriptor of the archive directory (the store's own, open while
   * the store is), for workers that write chunk files beneath it themselves; null when remote.
   */
  readonly localRootFd: (() => number) | null;
}

export class SessionStaging implements ChunkSink {
  readonly vid: VolumeId;
  /** S-tmp's archive path. */
  readonly dir: string;
  readonly localRootFd: (() => number) | null;
  private readonly store: Store;

  constructor(store: Store, vid: VolumeId) {
    this.store = store;
    this.vid = vid;
    this.dir = layout.sessionTmpDir(vid);
    this.localRootFd = store.localRootFd?.bind(store) ?? null;
  }

  /** Archive path of the chunk file at `address` in S-tmp. */
  chunkPath(address: number): string {
    return layout.chunkUnder(this.dir, address);
  }

  writeChunk(path: string, data: Uint8Array): Promise<void> {
    return this.store.writeNew(path, data);
  }

  /** Removes S-tmp and everything in it (nothing there is referenced by any root). */
  clear(): Promise<void> {
    return this.store.removeTree(this.dir);
  }
}
