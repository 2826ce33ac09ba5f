// The common receive, a `file:` archive into a plain file or block device, with the main thread
// kept to coordinating (issue 17): the decode workers read each chunk file themselves, confined
// beneath the archive's directory (confined-fs/read-beneath.ts), check it exactly as
// restore-stream.ts does (archive/chunk-file.ts), and write it at its address in the target
// (pwrite on the target's descriptor) — a chunk's bytes reach the target only after its checks
// passed. The main thread hands out batches of consecutive chunks in manifest order, keeps a
// window of two batches per worker in flight (memory is the workers' own buffers, independent of
// the volume size), and goes through the results in manifest order: the accounting, the
// progress, and what the target must do itself (record zero chunks, take the held first chunk of
// a block device, which is written last as restore-target.ts promises).
//
// A failure anywhere (a chunk failing its checks, a read or write failing, a worker dying) is
// reported for the first chunk in manifest order it affects; before the caller hears of it, every
// worker has been stopped, so nothing writes to the target while the caller removes or zeroes it.

import { availableParallelism } from 'node:os';
import { errnoOf, messageOf } from '../../../protocol/thrown.js';
import { type Archive, objectReadError } from '../../archive/archive.js';
import { HASH_BYTES } from '../../archive/hash.js';
import { describeError, IntegrityError, InterruptedError, LocalStorageError } from '../../errors.js';
import { itemAt } from '../../lookup.js';
import { fileSystemStoreError, StoreError, storeErrorCode } from '../../store/store.js';
import { type DecodeBatchResult, Placed } from '../workers/decode-job.js';
import { DecodePool } from '../workers/decode-pool.js';
import { TEST_READ_DELAY_ON, testReadDelay } from '../workers/test-read-delay.js';
import { type ChunkList, decodeSettingsOf, type RestoreChunk } from './restore-stream.js';
import type { RestoreTarget } from './restore-target.js';

/** Bytes of chunks per batch: few messages, yet enough batches to share among the workers. */
const BATCH_BYTES = 1024 * 1024;
/** Most chunks per batch (small chunk sizes). */
const MAX_BATCH = 32;
/** A chunk as restore-stream.ts gives it, and whether a worker has already written it. */
export interface PlacedChunk extends RestoreChunk {
  /** Written to the target by a worker: nothing is left to do with it. */
  readonly placed: boolean;
}

export interface DirectOptions {
  signal?: AbortSignal | undefined;
  skipCorrupt?: boolean;
  /**
   * Worker threads (default: one per core). Each has several chunk files in flight from the disk
   * (decode-worker.ts), so more workers than cores would only add writers contending for the
   * target's inode lock, and memory: 4 workers on 2 cores took 0.09 s longer on a 2 s receive and
   * 93 MiB more.
   */
  workers?: number;
}

/** Whether receive can go direct: a `file:` destination, whose store offers its directory's descriptor. */
export function canGoDirect(archive: Archive): boolean {
  return archive.store.localRootFd !== undefined;
}

interface Batch {
  /** The list indexes it covers, [from, to): its data chunks and the zero chunks between them. */
  readonly from: number;
  readonly to: number;
  readonly indexes: number[];
  readonly paths: string[];
  readonly result: Promise<DecodeBatchResult>;
}

/**
 * The chunks of `list` in order, each either placed in the target by a worker or handed back
 * (zero chunks, all-zero chunks, a held first chunk, skipped corrupt ones) for the caller to give
 * to the target as restore-stream.ts chunks are given.
 */
export async function* placeChunks(
  archive: Archive,
  list: ChunkList,
  target: NonNullable<RestoreTarget['positional']>,
  options: DirectOptions = {},
): AsyncGenerator<PlacedChunk> {
  if (!archive.store.localRootFd) throw new Error('a direct receive needs a local archive');
  // The workers read beneath the store's own descriptor of the archive directory (the store's:
  // not closed here), not the path opened again, which the destination could have replaced.
  let rootFd: number;
  try {
    rootFd = archive.store.localRootFd();
  } catch (error) {
    throw new StoreError(storeErrorCode(errnoOf(error)), '.', messageOf(error));
  }
  const pool = new DecodePool(decodeSettingsOf(archive), 0, options.workers ?? availableParallelism());
  const perBatch = Math.max(1, Math.min(MAX_BATCH, Math.floor(BATCH_BYTES / archive.chunkSize)));
  const firstChunk = target.holdsFirstChunk ? new SharedArrayBuffer(archive.chunkSize) : null;
  const skipCorrupt = options.skipCorrupt === true;

  let cursor = 0;
  const nextBatch = (): Batch | null => {
    if (cursor >= list.length) return null;
    const from = cursor;
    const indexes: number[] = [];
    const paths: string[] = [];
    const addresses: number[] = [];
    const sizes: number[] = [];
    const hashes = new Uint8Array(perBatch * HASH_BYTES);
    while (cursor < list.length && indexes.length < perBatch) {
      const path = list.path(cursor);
      if (path !== null) {
        hashes.set(list.hash(cursor), indexes.length * HASH_BYTES);
        indexes.push(cursor);
        paths.push(path);
        addresses.push(list.address(cursor));
        sizes.push(list.size(cursor));
      }
      cursor++;
    }
    const result =
      indexes.length === 0
        ? Promise.resolve(emptyResult())
        : pool.place({
            rootFd,
            targetFd: target.fd,
            paths,
            addresses,
            sizes,
            hashes: hashes.subarray(0, indexes.length * HASH_BYTES),
            skipCorrupt,
            firstChunk: addresses[0] === 0 ? firstChunk : null,
          });
    // Awaited in order later; this only keeps an early failure from going unhandled.
    result.catch(() => {});
    return { from, to: cursor, indexes, paths, result };
  };

  const inFlight: Batch[] = [];
  try {
    for (let i = 0; i < 2 * pool.workers; i++) {
      const batch = nextBatch();
      if (!batch) break;
      inFlight.push(batch);
    }
    while (inFlight.length > 0) {
      const batch = itemAt(inFlight, 0);
      const result = await batch.result;
      if (result.error !== null) throw new Error(`decode worker: ${result.error}`);
      inFlight.shift();
      const next = nextBatch();
      if (next) inFlight.push(next);
      let k = 0;
      for (let index = batch.from; index < batch.to; index++) {
        if (TEST_READ_DELAY_ON) await testReadDelay(1, options.signal);
        if (options.signal?.aborted) throw new InterruptedError();
        const address = list.address(index);
        const size = list.size(index);
        if (batch.indexes[k] !== index) {
          yield { index, address, data: null, size, fileBytes: 0, corrupt: null, placed: false };
          continue;
        }
        const path = itemAt(batch.paths, k);
        yield outcome(result, k, { index, address, size, path }, skipCorrupt, firstChunk);
        k++;
      }
    }
  } finally {
    // Workers may still be writing to the target's descriptor (a failure stops the run while
    // later batches run): they are stopped before the caller closes, removes or zeroes it.
    await pool.close();
  }
}

function emptyResult(): DecodeBatchResult {
  return { id: -1, placed: [], fileBytes: [], integrity: [], readFailure: null, writeFailure: null, error: null };
}

/** Chunk `k` of a batch's result, or the failure to stop the run with. */
function outcome(
  result: DecodeBatchResult,
  k: number,
  chunk: { index: number; address: number; size: number; path: string },
  skipCorrupt: boolean,
  firstChunk: SharedArrayBuffer | null,
): PlacedChunk {
  const { index, address, size, path } = chunk;
  if (result.readFailure?.at === k) {
    const failure = result.readFailure;
    throw objectReadError(path, fileSystemStoreError(Object.assign(new Error(failure.message), { code: failure.code }), path));
  }
  if (result.writeFailure?.at === k) {
    const failure = result.writeFailure;
    throw new LocalStorageError(
      `Writing the restored volume at offset ${address} failed: ${describeError(Object.assign(new Error(failure.message), { code: failure.code }))}`,
    );
  }
  const fileBytes = result.fileBytes[k] ?? 0;
  const placed = result.placed[k];
  switch (placed) {
    case Placed.written:
      return { index, address, data: null, size, fileBytes, corrupt: null, placed: true };
    case Placed.zeros:
      return { index, address, data: null, size, fileBytes, corrupt: null, placed: false };
    case Placed.held:
      if (!firstChunk) break;
      return { index, address, data: Buffer.from(firstChunk, 0, size), size, fileBytes, corrupt: null, placed: false };
    case Placed.corrupt: {
      const corrupt = new IntegrityError(path, result.integrity[k] ?? 'failed its checks');
      if (!skipCorrupt) throw corrupt;
      return { index, address, data: null, size, fileBytes, corrupt, placed: false };
    }
  }
  throw new Error(`direct receive: no outcome for chunk ${index} (${String(placed)})`);
}
