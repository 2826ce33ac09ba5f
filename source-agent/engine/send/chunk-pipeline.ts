// The data path of send (design: "reader → worker pool → ordered writer"):
//   planner   cuts the chunks to send, in address order, into batches (about 1 MiB of source
//             each) and reserves each batch's nonce counters;
//   workers   read their batch's chunks from the source themselves (positional reads on the
//             descriptor opened here), zero-check, compress, hash, compare with the archive,
//             encrypt (one worker per core), and answer once per batch;
//   writer    takes the answers in address order, stores new chunk files in the session's
//             temporary directory, and records the manifest entries.
// The main thread touches no chunk's bytes on the way in: it only keeps the order and the
// accounting. For a file: destination the workers also write the chunk files ("direct");
// otherwise the encrypted chunks come back in the pool's output slots and the main thread writes
// them through the Store. Memory in flight is bounded either way: a window of batches (a few per
// worker; each worker reads into a buffer of its own) and the output slots (about 32 MiB); what
// grows with the volume is only the result arrays (33 bytes a chunk).
// With --dedup (dedup/send-dedup.ts) the writer first asks the dedup index about each new
// chunk, in address order: a hit becomes a hard link; a miss is written (on file:, by a worker
// again, from the slot the batch left it in). Without --dedup nothing of this runs.

import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { asError, errnoOf, messageOf } from '../../../protocol/thrown.js';
import { HASH_BYTES } from '../../archive/hash.js';
import type { ChunkSink } from '../../archive/session-staging.js';
import { FatalError, InterruptedError } from '../../errors.js';
import { itemAt } from '../../lookup.js';
import { fileSystemStoreError, StoreError, storeErrorCode } from '../../store/store.js';
import type { ChunkFailure, WorkerReply } from '../workers/chunk-job.js';
import type { ChunkPool, OutputSlot } from '../workers/chunk-pool.js';
import { testReadDelay } from '../workers/test-read-delay.js';

export const NOT_READ = 0;
export const ZERO = 1;
export const SAME = 2;
export const DATA = 3;

export interface PipelineOptions {
  pool: ChunkPool;
  /** Where new chunk files go (the session's S-tmp: archive/session-staging.ts). */
  sink: ChunkSink;
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
  /** ct mode: reserves `count` consecutive nonce counters (one a chunk); returns the first. */
  ctCounter: (count: number) => bigint;
  now: () => number;
  /** Count and estimate only; write nothing. */
  dryRun: boolean;
  signal?: AbortSignal | undefined;
  /** After each batch: chunks done, and bytes of chunk files stored so far. */
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
  linkTo(hit: DedupHit, path: string, bytes: number): Promise<LinkOutcome>;
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

/**
 * Source bytes a batch covers, about: one message and one reply for all its chunks, and one
 * direct read per run of consecutive chunks. 4 MiB rather than 1: a 1 GiB full send on 2 cores
 * 1.68 → 1.40 s cold and 1.50 → 1.31 s warm (medians of 5, with the read-ahead of
 * source-reader.ts); 8 MiB was no faster.
 */
const BATCH_BYTES = 4 * 1024 * 1024;
/** Batches in flight per worker: one being worked on, more queued so it never waits for the main thread. */
const BATCHES_PER_WORKER = 4;

/** Chunks per batch for this chunk size; with output slots, few enough that a batch always finds its slots. */
export function batchChunks(chunkSize: number, slotCount: number | null): number {
  const wanted = Math.max(1, Math.floor(BATCH_BYTES / chunkSize));
  return slotCount === null ? wanted : Math.max(1, Math.min(wanted, Math.floor(slotCount / 4)));
}

/** Splits ascending indexes into batches of at most `max` (the worker reads each run of consecutive ones at once). */
export function* batchesOf(indexes: Iterable<number>, max: number): Generator<number[]> {
  let batch: number[] = [];
  for (const index of indexes) {
    batch.push(index);
    if (batch.length >= max) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

interface Batch {
  indexes: number[];
  /** Archive path per chunk (null in a dry run). */
  paths: string[] | null;
  /** Output slot per chunk (buffers mode), released as each chunk file is stored or not needed. */
  slots: OutputSlot[] | null;
  reply: Promise<WorkerReply>;
}

/** One new chunk of a batch, on its way to the store. */
interface NewChunk {
  index: number;
  path: string;
  slot: OutputSlot | null;
}

/** Counts batches in flight; the planner waits while the window is full. */
class Window {
  private inFlight = 0;
  private waiter: (() => void) | null = null;
  constructor(private readonly size: number) {}

  async enter(): Promise<void> {
    while (this.inFlight >= this.size) await new Promise<void>((resolve) => (this.waiter = resolve));
    this.inFlight++;
  }

  leave(): void {
    this.inFlight--;
    this.wake();
  }

  /** Lets a waiting planner look again (it checks whether to stop). */
  wake(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }
}

export async function runChunkPipeline(options: PipelineOptions): Promise<PipelineResult> {
  const { pool, chunkSize, volsize, sink } = options;
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
  const direct = sink.localRootFd !== null;
  // Direct mode: the workers write beneath the store's own descriptor of the archive directory
  // (not the path opened again), walking each chunk's path without following links
  // (confined-fs), as LocalStore itself does.
  let rootFd = -1;
  if (sink.localRootFd && !options.dryRun) {
    try {
      rootFd = sink.localRootFd();
    } catch (error) {
      throw new StoreError(storeErrorCode(errnoOf(error)), '.', messageOf(error));
    }
  }
  // The source stays open here until no worker can read through its descriptors any more. The
  // workers read around the page cache (O_DIRECT, source-reader.ts) through a second descriptor
  // of the same file, where its file system allows; else through the cache.
  const source = await open(options.sourcePath, 'r');
  const sourceDirect = await open(`/proc/self/fd/${source.fd}`, constants.O_RDONLY | constants.O_DIRECT).catch(() => null);
  const dedup = options.dedup;
  dedup?.begin(result.hashes);
  // With dedup the chunk file stays in its slot until the writer knows whether to write it.
  const workersWrite = direct && !dedup;
  const outputs = !workersWrite && !options.dryRun;
  const perBatch = batchChunks(chunkSize, outputs ? pool.slotCount : null);
  const window = new Window(BATCHES_PER_WORKER * pool.workers);
  const queue: Batch[] = [];
  /** Every batch's reply until it settles: the source is closed only after all of them. */
  const unsettled = new Set<Promise<WorkerReply>>();
  let wake: (() => void) | null = null;
  let producing = true;
  let stop: Error | null = null;
  const halt = (error: unknown) => {
    stop ??= asError(error);
    window.wake();
  };
  const notify = () => {
    wake?.();
    wake = null;
  };
  // An interrupt stops the pipeline wherever it is, not only while batches are still planned:
  // results that arrive afterwards are not recorded, and nothing is committed.
  const onAbort = () => halt(new InterruptedError());
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  const produce = async () => {
    try {
      for (const indexes of batchesOf(options.indexes, perBatch)) {
        await window.enter();
        if (stop) return;
        await testReadDelay(indexes.length, options.signal);
        if (options.signal?.aborted) throw new InterruptedError();
        const slots: OutputSlot[] | null = outputs ? [] : null;
        if (slots) for (let i = 0; i < indexes.length; i++) slots.push(await pool.acquire());
        if (stop) {
          for (const slot of slots ?? []) pool.release(slot);
          return;
        }
        const previousHashes = new Uint8Array(indexes.length * HASH_BYTES);
        const hasPrevious = new Uint8Array(indexes.length);
        indexes.forEach((index, n) => {
          const hash = options.previousHash(index);
          if (!hash) return;
          previousHashes.set(hash, n * HASH_BYTES);
          hasPrevious[n] = 1;
        });
        const paths = options.dryRun ? null : indexes.map((index) => options.chunkPath(index));
        const reply = pool.runBatch({
          sourceFd: source.fd,
          sourceDirectFd: sourceDirect?.fd ?? -1,
          volsize,
          indexes,
          previousHashes,
          hasPrevious,
          outputSlots: slots ? slots.map((s) => s.slot) : null,
          // Direct mode: the worker writes the chunk files itself.
          writePaths: workersWrite ? paths : null,
          writeRootFd: rootFd,
          ctFirst: String(options.ctCounter(indexes.length)),
          nowSeconds: options.now(),
        });
        unsettled.add(reply);
        void reply.then(
          () => unsettled.delete(reply),
          () => unsettled.delete(reply), // consumed in order below; this only avoids an unhandled rejection meanwhile
        );
        queue.push({ indexes, paths, slots, reply });
        notify();
      }
    } catch (error) {
      halt(error);
    } finally {
      producing = false;
      notify();
    }
  };

  const writes = new Set<Promise<void>>();
  let done = 0;
  const release = (slot: OutputSlot | null) => {
    if (slot) pool.release(slot);
  };
  /** The slot is released when `work` ends; a failure stops the pipeline. */
  const track = (chunk: NewChunk, work: Promise<void>) => {
    const write = work.catch(halt).finally(() => {
      release(chunk.slot);
      writes.delete(write);
    });
    writes.add(write);
  };
  /** Dedup: chunk files being written, which a link must wait for. */
  const pendingWrites = new Map<string, Promise<void>>();
  const writeChunk = (chunk: NewChunk, length: number): Promise<void> => {
    const { path, slot } = chunk;
    const written = (async () => {
      if (!slot) throw new Error(`chunk at ${chunk.index * chunkSize}: no slot holds its file`);
      if (!direct) return sink.writeChunk(path, slot.output.subarray(0, length));
      const r = await pool.write({ slot: slot.slot, write: { path, rootFd, length } });
      if (r.failure) throw failureError(r.failure, chunk.index, path);
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
  const failureError = (failure: ChunkFailure, index: number, path: string | null): Error => {
    if (failure.stage === 'write')
      return fileSystemStoreError(Object.assign(new Error(failure.error), { code: failure.errorCode ?? 'EIO' }), path ?? '.');
    if (failure.stage === 'read') return new FatalError(failure.error);
    return new FatalError(`chunk at ${index * chunkSize}: ${failure.error}`);
  };
  const linkOrWrite = async (deduper: ChunkDedup, chunk: NewChunk, hash: Uint8Array, hit: DedupHit, length: number) => {
    await pendingWrites.get(hit.path)?.catch(() => {});
    const outcome = await deduper.linkTo(hit, chunk.path, length);
    if (outcome === 'linked') {
      result.linkedChunks++;
      result.linkedBytes += length;
      return;
    }
    result.storedChunks++;
    result.storedBytes += length;
    const written = writeChunk(chunk, length);
    if (outcome === 'write-and-use') deduper.use(hash, hit, chunk.index);
    await written;
  };

  /** A new chunk with --dedup: link it to a stored copy, or write it (and index it). */
  const dedupChunk = async (deduper: ChunkDedup, chunk: NewChunk, hash: Uint8Array, length: number) => {
    let hit: DedupHit | null;
    try {
      hit = await deduper.find(hash, chunk.index);
    } catch (error) {
      halt(error);
      release(chunk.slot);
      return;
    }
    if (options.dryRun) {
      if (hit) {
        result.linkedChunks++;
        result.linkedBytes += length;
      } else {
        result.storedChunks++;
        result.storedBytes += length;
      }
      release(chunk.slot);
      return;
    }
    result.chunkDirs.add(chunk.path.slice(0, chunk.path.lastIndexOf('/')));
    if (hit) {
      track(chunk, linkOrWrite(deduper, chunk, hash, hit, length));
    } else {
      result.storedChunks++;
      result.storedBytes += length;
      track(chunk, writeChunk(chunk, length));
    }
  };

  /** The answer to one batch, in address order: record each chunk, store or link the new ones. */
  const settle = async (batch: Batch, reply: WorkerReply) => {
    const { indexes, paths, slots } = batch;
    const count = reply.failure ? reply.failure.at : indexes.length;
    let n = 0;
    for (; n < count && !stop; n++) {
      const index = itemAt(indexes, n);
      const kind = reply.kinds[n] as number;
      const slot = slots?.[n] ?? null;
      result.kinds[index] = kind;
      if (kind === ZERO) {
        release(slot);
        continue;
      }
      const hash = reply.hashes.subarray(n * HASH_BYTES, (n + 1) * HASH_BYTES);
      result.hashes.set(hash, index * HASH_BYTES);
      if (kind !== DATA) {
        release(slot);
        continue;
      }
      const length = reply.outLengths[n] as number;
      const path = paths ? itemAt(paths, n) : '';
      if (dedup) {
        await dedupChunk(dedup, { index, path, slot }, hash, length);
        continue;
      }
      result.storedChunks++;
      result.storedBytes += length;
      if (!paths) {
        release(slot);
        continue;
      }
      result.chunkDirs.add(path.slice(0, path.lastIndexOf('/')));
      // The slot stays taken until the store has the bytes (a remote store sends this view).
      if (!direct) track({ index, path, slot }, writeChunk({ index, path, slot }, length));
      else release(slot);
    }
    // What was not recorded (after a failure, or once the pipeline stops) frees its slots.
    for (; n < indexes.length; n++) release(slots?.[n] ?? null);
    done += count;
    if (reply.failure) {
      const at = reply.failure.at;
      halt(failureError(reply.failure, itemAt(indexes, at), paths?.[at] ?? null));
    }
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
      try {
        const reply = await next.reply;
        if (stop) {
          for (const slot of next.slots ?? []) pool.release(slot);
        } else {
          await settle(next, reply);
          options.onProgress?.(done, result.storedBytes);
        }
      } catch (error) {
        // The pool failed the batch (a worker died). Its slots are not given out again: the
        // planner stops before it submits anything more.
        halt(error);
        for (const slot of next.slots ?? []) pool.release(slot);
      } finally {
        window.leave();
      }
    }
  };

  const running = [produce(), consume()];
  try {
    await Promise.all(running);
    await Promise.all(writes);
  } finally {
    // No worker may still use a descriptor closed here (a reused number would be another file).
    await Promise.allSettled(running);
    await Promise.allSettled([...writes]);
    await Promise.allSettled([...unsettled]);
    // A dead worker failed every job at once, while the others may still be working on theirs.
    if (pool.broken) await pool.stopWorkers();
    await sourceDirect?.close();
    await source.close();
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (stop) throw stop;
  return result;
}
