// Hard links between chunk files (format spec §2, §14): the destination's probe that it can hold
// them (archive.dat and its link .hardlink, as Wyng makes them), the links a dedup makes, and
// arch-deduplicate's crash-safe replacement of a duplicate — link(canonical, dup + "-lnk"), then
// rename(dup + "-lnk", dup) — with the removal of "-lnk" names an interrupted run left. Which
// chunks to link is the engine's (engine/dedup/); the names and store operations are here.

import { lstat } from 'node:fs/promises';
import { errnoOf, messageOf } from '../../protocol/thrown.js';
import { itemAt } from '../lookup.js';
import { isNotFound, type Store, StoreError, type StoreStat } from '../store/store.js';
import { isChunkDirName, isLinkLeftover, LINK_SUFFIX, layout } from './layout.js';

/** archive.dat and its hard link .hardlink; returns whether the link could be made. */
export async function probeHardLinks(store: Store): Promise<boolean> {
  await store.put(layout.hardLinkProbe, Buffer.alloc(0));
  await store.remove(layout.hardLinkProbeLink);
  try {
    await store.link(layout.hardLinkProbe, layout.hardLinkProbeLink);
    return true;
  } catch {
    return false;
  }
}

/**
 * True when `.hardlink` already is a second link of a file (made by arch-init or an earlier
 * write); otherwise the probe is made again, as Wyng does at every write command.
 */
export async function hardLinksSupported(store: Store): Promise<boolean> {
  const existing = await store.stat(layout.hardLinkProbeLink);
  if (existing?.kind === 'file' && existing.links >= 2) return true;
  return probeHardLinks(store);
}

/** What identifies a chunk file for "is this the same file": size, links, inode (local only). */
export interface FileId {
  size: number;
  links: number;
  /** The inode number when the store is a local directory; null on remote stores. */
  ino: bigint | null;
}

/** The link operations of a dedup on one destination. */
export class ChunkLinks {
  private readonly store: Store;

  constructor(store: Store) {
    this.store = store;
  }

  /** A new chunk file `path` as a hard link to the stored `existing` (send --dedup). */
  linkChunk(existing: string, path: string): Promise<void> {
    return this.store.link(existing, path);
  }

  /** link(source, duplicate-lnk): the first step of replacing a duplicate by a link. */
  linkBeside(source: string, duplicate: string): Promise<void> {
    return this.store.link(source, duplicate + LINK_SUFFIX);
  }

  /** Removes a duplicate's "-lnk" name (a leftover in the way of a new link). */
  removeBeside(duplicate: string): Promise<void> {
    return this.store.remove(duplicate + LINK_SUFFIX);
  }

  /** The second step, for a batch: each duplicate-lnk renamed over its duplicate, in one request. */
  async replaceByLinks(duplicates: readonly string[]): Promise<void> {
    if (duplicates.length > 0) await this.store.renameBatch(duplicates.map((d) => [d + LINK_SUFFIX, d] as const));
  }

  /** The file at `path`, or null when nothing (or no file) is there. */
  async fileId(path: string): Promise<FileId | null> {
    if (this.store.localPath) {
      try {
        const s = await lstat(this.store.localPath(path), { bigint: true });
        return s.isFile() ? { size: Number(s.size), links: Number(s.nlink), ino: s.ino } : null;
      } catch (error) {
        if (errnoOf(error) === 'ENOENT') return null;
        throw new StoreError('EIO', path, messageOf(error));
      }
    }
    const s: StoreStat | null = await this.store.stat(path);
    return s?.kind === 'file' ? { size: s.size, links: s.links, ino: null } : null;
  }

  /**
   * Removes the "x<16 hex>-lnk" names an interrupted arch-deduplicate left under the given
   * session directories (hard links to chunk data stored anyway, which nothing reads); returns
   * how many. Listings go several at a time, so a remote destination sees pipelined requests.
   */
  async removeLeftovers(sessionDirs: readonly string[]): Promise<number> {
    const store = this.store;
    const chunkDirs: string[] = [];
    await eachLimited(sessionDirs, async (dir) => {
      for (const name of await listOrNothing(store, dir)) if (isChunkDirName(name)) chunkDirs.push(`${dir}/${name}`);
    });
    let removed = 0;
    await eachLimited(chunkDirs, async (dir) => {
      for (const name of await listOrNothing(store, dir)) {
        if (!isLinkLeftover(name)) continue;
        await store.remove(`${dir}/${name}`);
        removed++;
      }
    });
    return removed;
  }
}

const PARALLEL = 16;

async function listOrNothing(store: Store, dir: string): Promise<string[]> {
  try {
    return await store.list(dir);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}

async function eachLimited<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(itemAt(items, next++));
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
}
