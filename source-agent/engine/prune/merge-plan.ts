// Computing a prune's merge (format spec §15.1–15.2), from manifests alone — so that an
// interrupted merge can be planned again, identically, from what is on the destination.
//
// A run of consecutive sessions (`sources`, oldest first) is removed; the session right after
// it (`target`) absorbs their data so that its merged view does not change. The directory of
// the oldest source (`mergeTarget`) is reused: chunk files move into it and it is finally
// renamed to the target's name. Precedence, newest first: the target, then the other sources
// newest to oldest ("manifest.one"), and below them mergeTarget's own files, which stay put.
//   * an address manifest.one supplies with data from session X: rename X/… → mergeTarget/…
//   * an address manifest.one supplies as a zero chunk: remove mergeTarget/… (if present)
//   * any address at or beyond the target's size (a volume that shrank): remove mergeTarget/…
// The target's new manifest is that precedence merge, cut at the target's size.

import { HASH_BYTES } from '../../archive/hash.js';
import type { SessionManifest } from '../../archive/manifest.js';
import type { SessionName } from '../../archive/names.js';
import { itemAt } from '../../lookup.js';

export interface MergeInput {
  chunkSize: number;
  /** The removed sessions, oldest first, with their manifests. */
  sources: readonly { name: SessionName; manifest: SessionManifest }[];
  target: { name: SessionName; volsize: number; manifest: SessionManifest };
}

export interface MergePlan {
  mergeTarget: SessionName;
  /** [target, remaining sources newest first]: the sessions whose files move into mergeTarget. */
  mergeSources: SessionName[];
  /** Chunk moves in address order: session the file comes from, and the chunk index. */
  moves: { from: SessionName; index: number }[];
  /** Chunk indexes whose file in mergeTarget must go (zero in a newer session, or beyond the end). */
  removals: number[];
  /** The target's manifest after the merge. */
  manifest: SessionManifest;
}

export function planMerge(input: MergeInput): MergePlan {
  const { sources, target } = input;
  if (sources.length === 0) throw new Error('a merge needs at least one source session');
  const mergeTarget = itemAt(sources, 0).name;
  // Precedence order: target, sources newest → second oldest, then mergeTarget (stays in place).
  const ranked = [target, ...sources.slice(1).reverse(), itemAt(sources, 0)];
  const heads = new Array<number>(ranked.length).fill(0);
  const end = Math.ceil(target.volsize / input.chunkSize);

  const moves: MergePlan['moves'] = [];
  const removals: number[] = [];
  const indexes: number[] = [];
  const zero: number[] = [];
  const hashes: Uint8Array[] = [];
  const own = ranked.length - 1;

  for (;;) {
    // The smallest address at any head; the first list (highest precedence) holding it wins.
    let address = Number.POSITIVE_INFINITY;
    let winner = -1;
    for (let r = 0; r < ranked.length; r++) {
      const m = itemAt(ranked, r).manifest;
      const h = itemAt(heads, r);
      if (h < m.count && m.chunkIndexes[h]! < address) {
        address = m.chunkIndexes[h]!;
        winner = r;
      }
    }
    if (winner < 0) break;
    const m = itemAt(ranked, winner).manifest;
    const n = itemAt(heads, winner);
    for (let r = 0; r < ranked.length; r++) {
      const other = itemAt(ranked, r).manifest;
      const h = itemAt(heads, r);
      if (h < other.count && other.chunkIndexes[h] === address) heads[r] = h + 1;
    }
    const isZero = m.isZero[n] === 1;
    if (address >= end) {
      removals.push(address);
      continue;
    }
    if (winner !== own) {
      if (isZero) removals.push(address);
      else moves.push({ from: itemAt(ranked, winner).name, index: address });
    }
    indexes.push(address);
    zero.push(isZero ? 1 : 0);
    hashes.push(m.hashes.subarray(n * HASH_BYTES, (n + 1) * HASH_BYTES));
  }

  const manifestHashes = new Uint8Array(indexes.length * HASH_BYTES);
  for (const [i, hash] of hashes.entries()) manifestHashes.set(hash, i * HASH_BYTES);
  return {
    mergeTarget,
    mergeSources: ranked.slice(0, own).map((s) => s.name),
    moves,
    removals,
    manifest: {
      count: indexes.length,
      chunkIndexes: Float64Array.from(indexes),
      hashes: manifestHashes,
      isZero: Uint8Array.from(zero),
    },
  };
}
