// Leftovers of an interrupted arch-deduplicate: "x<16 hex>-lnk" names in session chunk
// directories (a link made, the rename over the duplicate not yet done). They are hard links to
// chunk data that is stored anyway and nothing reads them, so they are harmless; this removes
// them. Directory listings go several at a time, so a remote destination sees pipelined requests.

import { itemAt } from '../../lookup.js';
import { isNotFound, type Store } from '../../store/store.js';

const CHUNK_DIR = /^[0-9a-f]{9}$/;
const LEFTOVER = /^x[0-9a-f]{16}-lnk$/;
const PARALLEL = 16;

/** Removes leftover links under the given session directories; returns how many. */
export async function removeLinkLeftovers(store: Store, sessionDirs: readonly string[]): Promise<number> {
  const chunkDirs: string[] = [];
  await eachLimited(sessionDirs, async (dir) => {
    for (const name of await listOrNothing(store, dir)) if (CHUNK_DIR.test(name)) chunkDirs.push(`${dir}/${name}`);
  });
  let removed = 0;
  await eachLimited(chunkDirs, async (dir) => {
    for (const name of await listOrNothing(store, dir)) {
      if (!LEFTOVER.test(name)) continue;
      await store.remove(`${dir}/${name}`);
      removed++;
    }
  });
  return removed;
}

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
