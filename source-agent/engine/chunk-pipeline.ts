// The data path of send (design: "reader → worker pool → ordered writer"):
//   reader    reads each chunk to send, in address order, into a pooled buffer;
//   workers   zero-check, compress, hash, compare with the archive, encrypt (one per core);
//   writer    takes results in address order, writes new chunk files into the session's
//             temporary directory (several writes in flight), and records the manifest entries.
// The pool's buffer pairs bound the memory in flight; nothing grows with the volume size except
// the per-chunk result arrays (33 bytes a chunk).

import { HASH_BYTES } from '../archive/hash.js';
import { FatalError, InterruptedError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { ChunkResult } from './chunk-job.js';
import type { BufferPair, ChunkPool } from './chunk-pool.js';

export const NOT_READ = 0;
export const ZERO = 1;
export const SAME = 2;
export const DATA = 3;

export interface PipelineOptions {
  pool: ChunkPool;
  store: Store;
  chunkSize: number;
  volsize: number;
  /** Chunk indexes to read, ascending. */
  indexes: Iterable<number>;
  /** Reads chunk `index` (its full length) into `into`; returns the bytes read. */
  read: (index: number, into: Uint8Array) => Promise<number>;
  /** The archive's hash for a chunk index, or null (zero chunk, or beyond the old size). */
  previousHash: (index: number) => Uint8Array | null;
  /** Where a new chunk file goes (in the session's temporary directory). */
  chunkPath: (index: number) => string;
  /** ct mode: reserves a nonce counter for one chunk. */
  ctCounter: () => bigint;
  now: () => number;
  /** Count and estimate only; write nothing. */
  dryRun: boolean;
  signal?: AbortSignal | undefined;
  onProgress?: (doneChunks: number) => void;
}

export interface PipelineResult {
  /** Per chunk index: NOT_READ, ZERO, SAME or DATA. */
  kinds: Uint8Array;
  /** Per chunk index, 32 bytes: the hash of DATA and SAME chunks. */
  hashes: Uint8Array;
  /** Chunk files written (or that would be, in a dry run) and their total bytes. */
  storedChunks: number;
  storedBytes: number;
  /** Directories that received chunk files (to fsync before publishing them). */
  chunkDirs: Set<string>;
  readBytes: number;
}

interface Pending {
  index: number;
  result: Promise<ChunkResult>;
}

export async function runChunkPipeline(options: PipelineOptions): Promise<PipelineResult> {
  const { pool, chunkSize, volsize } = options;
  const chunkCount = Math.ceil(volsize / chunkSize);
  const result: PipelineResult = {
    kinds: new Uint8Array(chunkCount),
    hashes: new Uint8Array(chunkCount * HASH_BYTES),
    storedChunks: 0,
    storedBytes: 0,
    chunkDirs: new Set(),
    readBytes: 0,
  };
  const queue: Pending[] = [];
  let wake: (() => void) | null = null;
  let producing = true;
  let stop: Error | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };

  const produce = async () => {
    try {
      for (const index of options.indexes) {
        if (stop) return;
        if (options.signal?.aborted) throw new InterruptedError('Interrupted.');
        const pair = await pool.acquire();
        const length = Math.min(chunkSize, volsize - index * chunkSize);
        const n = await options.read(index, new Uint8Array(pair.input, 0, length));
        if (n !== length) throw new FatalError(`source volume shrank while being read (chunk ${index})`);
        result.readBytes += n;
        const previous = options.previousHash(index);
        queue.push({
          index,
          result: pool.submit(pair, {
            length,
            previousHash: previous,
            ctCounter: String(options.ctCounter()),
            nowSeconds: options.now(),
          }),
        });
        notify();
      }
    } catch (error) {
      stop ??= error as Error;
    } finally {
      producing = false;
      notify();
    }
  };

  const writes = new Set<Promise<void>>();
  let done = 0;
  const consume = async () => {
    while (true) {
      const next = queue.shift();
      if (!next) {
        if (!producing) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        continue;
      }
      let r: ChunkResult;
      try {
        r = await next.result;
      } catch (error) {
        stop ??= error as Error;
        continue;
      }
      const pair: BufferPair = { input: r.input, output: r.output };
      if (stop) {
        pool.release(pair);
        continue;
      }
      if (r.error) {
        stop = new FatalError(`chunk at ${next.index * chunkSize}: ${r.error}`);
        pool.release(pair);
        continue;
      }
      record(result, next.index, r);
      if (r.kind === 'data') {
        result.storedChunks++;
        result.storedBytes += r.outLength;
      }
      if (r.kind === 'data' && !options.dryRun) {
        const path = options.chunkPath(next.index);
        result.chunkDirs.add(path.slice(0, path.lastIndexOf('/')));
        const write = options.store
          .writeNew(path, new Uint8Array(r.output, 0, r.outLength))
          .catch((error: unknown) => {
            stop ??= error as Error;
          })
          .finally(() => {
            pool.release(pair);
            writes.delete(write);
          });
        writes.add(write);
      } else {
        pool.release(pair);
      }
      options.onProgress?.(++done);
    }
  };

  await Promise.all([produce(), consume()]);
  await Promise.all(writes);
  if (stop) throw stop;
  return result;
}

function record(result: PipelineResult, index: number, r: ChunkResult): void {
  result.kinds[index] = r.kind === 'zero' ? ZERO : r.kind === 'same' ? SAME : DATA;
  if (r.hash) result.hashes.set(r.hash, index * HASH_BYTES);
}
