// receive --sparse (behavior spec §5.3): which chunks of a session must cross the transport. The
// local target is read and every chunk is hashed as send hashes it (compressed with the archive's
// compressor and level, then the hash of the compressed bytes — archive format §3.2, §5), on
// send's worker pool (chunk-pipeline.ts in dry-run mode, which writes nothing); a chunk whose
// hash equals the session's is left alone and never fetched. What remains is a subset of the
// session's chunk list, read by the usual restore stream: only those chunk files are asked of
// the destination. The session's zero chunks stay in the subset where the local chunk is not all
// zeros (they are deallocated there, not fetched).
//
// The hashes match only when compressing the same bytes gives the same bytes: an archive written
// by Wyng with another compressor build makes chunks look changed; they are then fetched, and
// the result is still right, only the transfer larger (archive format §3.2).

import type { Archive } from '../../archive/archive.js';
import { ZERO_CHUNK } from '../../archive/merged-manifest.js';
import { runChunkPipeline, SAME, ZERO } from '../send/chunk-pipeline.js';
import { ChunkPool, workerSetupFor } from '../workers/chunk-pool.js';
import type { ChunkList, RestorePlan } from './restore-stream.js';

export interface CompareOptions {
  signal?: AbortSignal | undefined;
  /** Chunks compared so far, of the plan's chunk count. */
  onProgress?: (done: number) => void;
}

/** The chunks of `plan` that differ from the volume readable at `localPath` (at least plan.volsize bytes). */
export async function differingChunks(
  archive: Archive,
  plan: RestorePlan,
  localPath: string,
  options: CompareOptions = {},
): Promise<ChunkList> {
  const { merged, chunks } = plan;
  const pool = new ChunkPool();
  let kinds: Uint8Array;
  try {
    pool.configure(workerSetupFor(archive));
    const result = await runChunkPipeline({
      pool,
      // A dry run writes no chunk file.
      sink: { localRootFd: null, writeChunk: () => Promise.reject(new Error('diff/--sparse never writes chunk files')) },
      chunkSize: archive.chunkSize,
      volsize: merged.volsize,
      indexes: indexRange(merged.chunkCount),
      sourcePath: localPath,
      previousHash: (index) => (merged.source[index] === ZERO_CHUNK ? null : merged.hashAt(index)),
      chunkPath: () => '',
      ctCounter: () => 0n,
      now: () => 0,
      dryRun: true,
      signal: options.signal,
      onProgress: (done) => options.onProgress?.(done),
    });
    kinds = result.kinds;
  } finally {
    await pool.close();
  }
  const wanted: number[] = [];
  for (let i = 0; i < merged.chunkCount; i++) {
    // A zero chunk differs unless the local one is zeros; a data chunk unless its hash is equal.
    const same = merged.source[i] === ZERO_CHUNK ? kinds[i] === ZERO : kinds[i] === SAME;
    if (!same) wanted.push(i);
  }
  return subsetOf(chunks, wanted);
}

function* indexRange(count: number): Generator<number> {
  for (let i = 0; i < count; i++) yield i;
}

/** The chunks of `list` at `indexes` (ascending), as a list of their own. */
export function subsetOf(list: ChunkList, indexes: readonly number[]): ChunkList {
  const at = (i: number): number => indexes[i] as number;
  return {
    length: indexes.length,
    address: (i) => list.address(at(i)),
    path: (i) => list.path(at(i)),
    hash: (i) => list.hash(at(i)),
    size: (i) => list.size(at(i)),
  };
}
