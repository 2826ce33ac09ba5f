// A restore decode worker: for each chunk file in its slot, decrypt, check the hash and
// decompress into the slot's chunk part, with exactly the checks of Archive.openChunk. In a
// direct receive (DecodeBatch) it also reads the chunk files itself, confined beneath the
// archive's directory, and writes each checked chunk at its address in the target.

import { writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { BeneathReader } from '../../../confined-fs/read-beneath.js';
import { errnoOf, messageOf } from '../../../protocol/thrown.js';
import { type ChunkOpener, openChunkFile } from '../../archive/chunk-file.js';
import { makeCodec } from '../../archive/compression/index.js';
import { dataHasherFor, HASH_BYTES, initHashing } from '../../archive/hash.js';
import { IntegrityError } from '../../errors.js';
import { itemAt } from '../../lookup.js';
import { isAllZero } from '../restore/positional-io.js';
import {
  type DecodeBatch,
  type DecodeBatchResult,
  type DecodeJob,
  type DecodeMessage,
  type DecodeResult,
  type DecodeSetup,
  Placed,
} from './decode-job.js';
import { testWorkerExit } from './test-worker-exit.js';

interface Ready {
  setup: DecodeSetup;
  opener: ChunkOpener;
  /** Reused for every chunk's decrypted bytes. */
  scratch: Buffer;
  /** A direct receive's chunk file and decoded chunk (allocated on its first batch). */
  file: Buffer | null;
  chunk: Buffer | null;
}
let ready: Ready | null = null;
let setupFailure: string | null = null;

async function configure(setup: DecodeSetup): Promise<Ready> {
  if (!setup.manifestHashKey) await initHashing();
  return {
    setup,
    opener: { dataKey: setup.dataKey, hasher: dataHasherFor(setup.manifestHashKey), codec: makeCodec(setup.compression, setup.level) },
    scratch: Buffer.allocUnsafe(setup.fileBytes),
    file: null,
    chunk: null,
  };
}

function decode(job: DecodeJob, { setup, opener, scratch }: Ready): DecodeResult {
  const base = job.slot * (setup.fileBytes + setup.chunkBytes);
  const file = Buffer.from(setup.slots, base, job.fileLength);
  const out = Buffer.from(setup.slots, base + setup.fileBytes, job.size);
  try {
    openChunkFile(opener, '', file, job.hash, out, scratch);
  } catch (error) {
    if (error instanceof IntegrityError) return { id: job.id, integrity: error.detail, error: null };
    throw error;
  }
  return { id: job.id, integrity: null, error: null };
}

/**
 * Reads, checks and places each chunk of the batch in turn. A chunk's bytes reach the target
 * only after all its checks passed; the first failure that is not a skipped corrupt chunk ends
 * the batch (the main thread fails the run and removes or zeroes what was written).
 */
function placeBatch(batch: DecodeBatch, ready: Ready): DecodeBatchResult {
  const count = batch.paths.length;
  const result: DecodeBatchResult = {
    id: batch.id,
    placed: new Array<Placed>(count).fill(Placed.notDone),
    fileBytes: new Array<number>(count).fill(0),
    integrity: new Array<string | null>(count).fill(null),
    readFailure: null,
    writeFailure: null,
    error: null,
  };
  const reader = new BeneathReader(batch.rootFd);
  try {
    return placeEach(batch, ready, reader, result);
  } finally {
    reader.release();
  }
}

function placeEach(batch: DecodeBatch, ready: Ready, reader: BeneathReader, result: DecodeBatchResult): DecodeBatchResult {
  const { setup, opener, scratch } = ready;
  ready.file ??= Buffer.allocUnsafe(setup.fileBytes);
  ready.chunk ??= Buffer.allocUnsafe(setup.chunkBytes);
  const { file, chunk } = ready;
  for (let i = 0; i < batch.paths.length; i++) {
    testWorkerExit();
    const path = itemAt(batch.paths, i);
    const address = itemAt(batch.addresses, i);
    let fileLength: number;
    try {
      fileLength = reader.read(path, file);
    } catch (error) {
      result.readFailure = { at: i, code: errnoOf(error), message: messageOf(error) };
      return result;
    }
    result.fileBytes[i] = fileLength;
    const out = chunk.subarray(0, itemAt(batch.sizes, i));
    try {
      openChunkFile(opener, '', file.subarray(0, fileLength), batch.hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES), out, scratch);
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      result.placed[i] = Placed.corrupt;
      result.integrity[i] = error.detail;
      if (batch.skipCorrupt) continue;
      return result;
    }
    if (isAllZero(out)) {
      result.placed[i] = Placed.zeros;
    } else if (address === 0 && batch.firstChunk) {
      out.copy(Buffer.from(batch.firstChunk, 0, out.length));
      result.placed[i] = Placed.held;
    } else {
      try {
        let done = 0;
        while (done < out.length) done += writeSync(batch.targetFd, out, done, out.length - done, address + done);
      } catch (error) {
        result.writeFailure = { at: i, code: errnoOf(error), message: messageOf(error) };
        return result;
      }
      result.placed[i] = Placed.written;
    }
  }
  return result;
}

// Messages are handled one at a time, in order: the set-up, then jobs.
let queue: Promise<void> = Promise.resolve();
parentPort?.on('message', (message: DecodeMessage) => {
  queue = queue.then(() => handle(message));
});

async function handle(message: DecodeMessage): Promise<void> {
  if ('slots' in message) {
    ready = await configure(message).catch((error: unknown) => {
      setupFailure = messageOf(error);
      return null;
    });
    return;
  }
  if ('paths' in message) {
    let result: DecodeBatchResult;
    try {
      if (!ready) throw new Error(setupFailure ?? 'decode worker: a batch came before its set-up');
      result = placeBatch(message, ready);
    } catch (error) {
      result = { id: message.id, placed: [], fileBytes: [], integrity: [], readFailure: null, writeFailure: null, error: messageOf(error) };
    }
    parentPort?.postMessage(result);
    return;
  }
  testWorkerExit();
  let result: DecodeResult;
  try {
    if (!ready) throw new Error(setupFailure ?? 'decode worker: a job came before its set-up');
    result = decode(message, ready);
  } catch (error) {
    result = { id: message.id, integrity: null, error: messageOf(error) };
  }
  parentPort?.postMessage(result);
}
