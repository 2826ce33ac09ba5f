// The data path of send (design: "reader → worker pool → ordered writer"):
//   reader    reads each chunk to send, in address order;
//   workers   zero-check, compress, hash, compare with the archive, encrypt (one per core);
//   writer    takes results in address order, stores new chunk files in the session's
//             temporary directory, and records the manifest entries.
// The main thread reads chunks into pooled buffers, many reads in flight. For a file: destination
// the workers write the chunk files themselves ("direct"), which keeps the main thread from
// becoming the bottleneck on a two-core dom0; otherwise the encrypted chunks come back to the
// main thread, which writes them through the Store. Memory in flight is bounded by the
// pool either way; what grows with the volume is only the result arrays (33 bytes a chunk).
// With --dedup (dedup/send-dedup.ts) the writer first asks the dedup index about each new
// chunk, in address order: a hit becomes a hard link; a miss is written (on file:, by a worker
// again, from the slot the chunk job left it in). Without --dedup nothing of this runs.

import { BeneathRoot } from '../../../confined-fs/beneath-root.js';
import { asError, errnoOf, messageOf } from '../../../protocol/thrown.js';
import { HASH_BYTES } from '../../archive/hash.js';
import { FatalError, InterruptedError } from '../../errors.js';
import { itemAt, lastOf } from '../../lookup.js';
import { type Store, StoreError, storeErrorCode } from '../../store/store.js';
import type { ChunkResult } from '../workers/chunk-job.js';
import type { BufferPair, ChunkPool } from '../workers/chunk-pool.js';
import { testReadDelay } from '../workers/test-read-delay.js';

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
  /** The file holding the volume's bytes (a snapshot or an import source). */
  sourcePath: string;
  /** The archive's hash for a chunk index, or null (zero chunk, or beyond the old size). */
  previousHash: (index: number) => Uint8Array | null;
  /** Where a new chunk file goes (in the session's temporary directory), archive-relative. */
  chunkPath: (index: number) => string;
  /** ct mode: reserves a nonce counter for one chunk. */
  ctCounter: () => bigint;
  now: () => number;
  /** Count and estimate only; write nothing. */
  dryRun: boolean;
  signal?: AbortSignal | undefined;
  /** After each chunk: chunks done, and bytes of chunk files stored so far. */
  onProgress?: (doneChunks: number, storedBytes: number) => void;
  /** send --dedup: link new chunks the archive already has. */
  dedup?: ChunkDedup | undefined;
}

/** A stored chunk with the same hash, to link to. */
export interface DedupHit {
  /** Archive path of the chunk file. */
  path: string;
  /** The index's own reference (given back to `use`). */
  location: unknown;
}

/** linked; or write the chunk instead (write-and-use: and link later repeats to the new file). */
export type LinkOutcome = 'linked' | 'write' | 'write-and-use';

export interface ChunkDedup {
  /** Called once, with the result's per-chunk hashes (new chunks are confirmed against them). */
  begin(hashes: Uint8Array): void;
  /** A stored chunk with this hash; null when there is none (the chunk at `index` joins the index). */
  find(hash: Uint8Array, index: number): Promise<DedupHit | null>;
  link(hit: DedupHit, path: string, bytes: number): Promise<LinkOutcome>;
  /** After 'write-and-use': later repeats of `hash` link to the chunk at `index`. */
  use(hash: Uint8Array, hit: DedupHit, index: number): void;
}

export interface PipelineResult {
  /** Per chunk index: NOT_READ, ZERO, SAME or DATA. */
  kinds: Uint8Array;
  /** Per chunk index, 32 bytes: the hash of DATA and SAME chunks. */
  hashes: Uint8Array;
  /** Chunk files written (or that would be, in a dry run) and their total bytes. */
  storedChunks: number;
  storedBytes: number;
  /** Directories that received chunk files (to make durable before publishing them). */
  chunkDirs: Set<string>;
  /** Dedup: chunks linked instead of written (or that would be, in a dry run), and their bytes. */
  linkedChunks: number;
  linkedBytes: number;
}

/** Chunks read with one call, at most. */
const READ_RUN = 8;

/** Splits ascending indexes into runs of consecutive ones, each at most `max` long. */
function* consecutiveRuns(indexes: Iterable<number>, max: number): Generator<number[]> {
  let run: number[] = [];
  for (const index of indexes) {
    if (run.length > 0 && (index !== lastOf(run) + 1 || run.length >= max)) {
      yield run;
      run = [];
    }
    run.push(index);
  }
  if (run.length > 0) yield run;
}

interface Pending {
  index: number;
  result: Promise<ChunkResult>;
  pair: BufferPair;
}

export async function runChunkPipeline(options: PipelineOptions): Promise<PipelineResult> {
  const { pool, chunkSize, volsize, store } = options;
  const chunkCount = Math.ceil(volsize / chunkSize);
  const result: PipelineResult = {
    kinds: new Uint8Array(chunkCount),
    hashes: new Uint8Array(chunkCount * HASH_BYTES),
    storedChunks: 0,
    storedBytes: 0,
    chunkDirs: new Set(),
    linkedChunks: 0,
    linkedBytes: 0,
  };
  const root = store.localPath ? store.localPath('.') : null;
  const direct = root !== null;
  // Direct mode: the workers write beneath this descriptor of the archive directory, walking
  // each chunk's path without following links (confined-fs), as LocalStore itself does.
  let beneath: BeneathRoot | null = null;
  if (direct && !options.dryRun) {
    try {
      beneath = BeneathRoot.open(root, false);
    } catch (error) {
      throw new StoreError(storeErrorCode(errnoOf(error)), '.', messageOf(error));
    }
  }
  const rootFd = beneath?.rootFd ?? -1;
  const dedup = options.dedup;
  dedup?.begin(result.hashes);
  // With dedup the chunk file stays in the slot until the writer knows whether to write it.
  const workersWrite = direct && !dedup;
  const queue: Pending[] = [];
  let wake: (() => void) | null = null;
  let producing = true;
  let stop: Error | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };

  const produce = async () => {
    const handle = await (await import('node:fs/promises')).open(options.sourcePath, 'r').catch((error: unknown) => {
      stop ??= asError(error);
      return null;
    });
    try {
      if (!handle) return;
      for (const run of consecutiveRuns(options.indexes, READ_RUN)) {
        if (stop) return;
        await testReadDelay(run.length, options.signal);
        if (options.signal?.aborted) throw new InterruptedError();
        // One read for a run of consecutive chunks (up to 2 MiB with 256 KiB chunks): large
        // sequential reads, several in flight, so read latency overlaps the work on earlier chunks.
        const pairs: BufferPair[] = [];
        for (let i = 0; i < run.length; i++) pairs.push(await pool.acquire());
        const lengths = run.map((index) => Math.min(chunkSize, volsize - index * chunkSize));
        const views = pairs.map((pair, i) => pair.input.subarray(0, lengths[i]));
        const total = lengths.reduce((a, b) => a + b, 0);
        const reading = handle.readv(views, itemAt(run, 0) * chunkSize).then(({ bytesRead }) => {
          if (bytesRead !== total) throw new FatalError(`source volume shrank while being read (chunk ${run[0]})`);
        });
        run.forEach((index, i) => {
          const pair = itemAt(pairs, i);
          const path = options.chunkPath(index);
          // Direct mode: the worker writes the chunk file itself.
          const writePath = workersWrite && !options.dryRun ? path : null;
          const job = {
            length: itemAt(lengths, i),
            writePath,
            writeRootFd: rootFd,
            previousHash: options.previousHash(index),
            ctCounter: String(options.ctCounter()),
            nowSeconds: options.now(),
          };
          const submitted = reading.then(() => pool.submit({ ...job, slot: pair.slot, output: !workersWrite && !options.dryRun }));
          submitted.catch(() => {}); // consumed in order below; this only avoids an unhandled rejection meanwhile
          queue.push({ index, result: submitted, pair });
        });
        notify();
      }
    } catch (error) {
      stop ??= asError(error);
    } finally {
      producing = false;
      notify();
      // Wait for reads in flight before closing the file they read from.
      await Promise.allSettled(queue.map((p) => p.result));
      await handle?.close();
    }
  };

  const writes = new Set<Promise<void>>();
  let done = 0;
  const finish = (entry: Pending) => pool.release(entry.pair);
  /** The slot is released when `work` ends; a failure stops the pipeline. */
  const track = (entry: Pending, work: Promise<void>) => {
    const write = work
      .catch((error: unknown) => {
        stop ??= asError(error);
      })
      .finally(() => {
        finish(entry);
        writes.delete(write);
      });
    writes.add(write);
  };
  /** Dedup: chunk files being written, which a link must wait for. */
  const pendingWrites = new Map<string, Promise<void>>();
  const writeChunk = (path: string, entry: Pending, length: number): Promise<void> => {
    const written = (async () => {
      if (!direct) return store.writeNew(path, entry.pair.output.subarray(0, length));
      const r = await pool.submit({ slot: entry.pair.slot, write: { path, rootFd, length } });
      if (r.errorCode) throw new StoreError(storeErrorCode(r.errorCode), path, r.error ?? r.errorCode);
      if (r.error) throw new FatalError(`chunk at ${entry.index * chunkSize}: ${r.error}`);
    })();
    if (dedup) {
      pendingWrites.set(path, written);
      void written.then(
        () => pendingWrites.delete(path),
        () => pendingWrites.delete(path),
      );
    }
    return written;
  };
  const linkOrWrite = async (deduper: ChunkDedup, entry: Pending, hash: Uint8Array, hit: DedupHit, path: string, length: number) => {
    await pendingWrites.get(hit.path)?.catch(() => {});
    const outcome = await deduper.link(hit, path, length);
    if (outcome === 'linked') {
      result.linkedChunks++;
      result.linkedBytes += length;
      return;
    }
    result.storedChunks++;
    result.storedBytes += length;
    const written = writeChunk(path, entry, length);
    if (outcome === 'write-and-use') deduper.use(hash, hit, entry.index);
    await written;
  };
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
        stop ??= asError(error);
        if (!pool.isInFlight(next.pair)) finish(next);
        continue;
      }
      if (stop || r.error) {
        if (r.errorCode) stop ??= new StoreError(storeErrorCode(r.errorCode), options.chunkPath(next.index), r.error ?? r.errorCode);
        stop ??= new FatalError(`chunk at ${next.index * chunkSize}: ${r.error}`);
        finish(next);
        continue;
      }
      result.kinds[next.index] = r.kind === 'zero' ? ZERO : r.kind === 'same' ? SAME : DATA;
      if (r.hash) result.hashes.set(r.hash, next.index * HASH_BYTES);
      if (r.kind === 'data' && dedup) {
        await dedupChunk(dedup, next, r);
        options.onProgress?.(++done, result.storedBytes);
        continue;
      }
      if (r.kind === 'data') {
        result.storedChunks++;
        result.storedBytes += r.outLength;
        if (!options.dryRun) {
          const path = options.chunkPath(next.index);
          result.chunkDirs.add(path.slice(0, path.lastIndexOf('/')));
        }
      }
      if (r.kind === 'data' && !direct && !options.dryRun) {
        // The slot stays taken until the store has the bytes (a remote store sends this view).
        const write = store
          .writeNew(options.chunkPath(next.index), next.pair.output.subarray(0, r.outLength))
          .catch((error: unknown) => {
            stop ??= asError(error);
          })
          .finally(() => {
            finish(next);
            writes.delete(write);
          });
        writes.add(write);
      } else {
        finish(next);
      }
      options.onProgress?.(++done, result.storedBytes);
    }
  };

  /** A new chunk with --dedup: link it to a stored copy, or write it (and index it). */
  const dedupChunk = async (deduper: ChunkDedup, entry: Pending, r: ChunkResult) => {
    const path = options.chunkPath(entry.index);
    const hash = r.hash;
    let hit: DedupHit | null;
    try {
      if (!hash) throw new Error(`chunk at ${entry.index * chunkSize}: a data chunk without a hash`);
      hit = await deduper.find(hash, entry.index);
    } catch (error) {
      stop ??= asError(error);
      finish(entry);
      return;
    }
    if (options.dryRun) {
      if (hit) {
        result.linkedChunks++;
        result.linkedBytes += r.outLength;
      } else {
        result.storedChunks++;
        result.storedBytes += r.outLength;
      }
      finish(entry);
      return;
    }
    result.chunkDirs.add(path.slice(0, path.lastIndexOf('/')));
    if (hit) {
      track(entry, linkOrWrite(deduper, entry, hash, hit, path, r.outLength));
    } else {
      result.storedChunks++;
      result.storedBytes += r.outLength;
      track(entry, writeChunk(path, entry, r.outLength));
    }
  };

  const running = [produce(), consume()];
  try {
    await Promise.all(running);
    await Promise.all(writes);
  } finally {
    // No worker may still use the descriptor (a reused number would be another directory).
    await Promise.allSettled(running);
    await Promise.allSettled([...writes]);
    beneath?.close();
  }
  if (stop) throw stop;
  return result;
}
