// A restore decode worker: for each chunk file in its slot, decrypt, check the hash and
// decompress into the slot's chunk part, with exactly the checks of Archive.openChunk. In a
// direct receive (DecodeBatch) it also reads the chunk files itself, confined beneath the
// archive's directory, and writes each checked chunk at its address in the target. A batch's
// files start to be read (on libuv's thread pool, a few at a time) as soon as its message
// arrives, while the worker still decodes earlier ones: so one worker per core keeps the disk
// busy on a cold cache without extra threads that would fight over the target's inode lock.

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
  /** A direct receive's decoded chunk (allocated on its first batch). */
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

/** How many chunk files of one batch are read at once. */
const READS_PER_BATCH = 4;

/** A chunk file read (its length), or why it could not be. */
type FileRead = { ok: true; length: number } | { ok: false; failure: unknown };

/** A batch's chunk files, being read into buffers of their own. */
interface BatchReads {
  reader: BeneathReader;
  files: Buffer[];
  reads: Promise<FileRead>[];
}

/** Chunk-file buffers of finished batches, for the next ones (fresh pages cost page faults). */
const freeFiles: Buffer[] = [];

/** Starts reading the batch's chunk files, READS_PER_BATCH at a time, in order. */
function startReads(batch: DecodeBatch, fileBytes: number): BatchReads {
  const reader = new BeneathReader(batch.rootFd);
  const files = batch.paths.map(() => freeFiles.pop() ?? Buffer.allocUnsafe(fileBytes));
  const reads: Promise<FileRead>[] = [];
  batch.paths.forEach((path, i) => {
    const readOne = (): Promise<FileRead> =>
      reader.read(path, itemAt(files, i)).then(
        (length): FileRead => ({ ok: true, length }),
        (failure: unknown): FileRead => ({ ok: false, failure }),
      );
    reads.push(i < READS_PER_BATCH ? readOne() : itemAt(reads, i - READS_PER_BATCH).then(readOne));
  });
  return { reader, files, reads };
}

/** Waits for every read of the batch (none may still fill a buffer), then gives back its resources. */
async function finishReads({ reader, files, reads }: BatchReads): Promise<void> {
  await Promise.all(reads);
  reader.release();
  freeFiles.push(...files);
}

/**
 * Checks and places each chunk of the batch in turn, as its file has been read. A chunk's bytes
 * reach the target only after all its checks passed; the first failure that is not a skipped
 * corrupt chunk ends the batch (the main thread fails the run and removes or zeroes what was
 * written).
 */
async function placeBatch(batch: DecodeBatch, ready: Ready, files: BatchReads): Promise<DecodeBatchResult> {
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
  try {
    return await placeEach(batch, ready, files, result);
  } finally {
    await finishReads(files);
  }
}

async function placeEach(
  batch: DecodeBatch,
  ready: Ready,
  { files, reads }: BatchReads,
  result: DecodeBatchResult,
): Promise<DecodeBatchResult> {
  const { setup, opener, scratch } = ready;
  ready.chunk ??= Buffer.allocUnsafe(setup.chunkBytes);
  const { chunk } = ready;
  for (let i = 0; i < batch.paths.length; i++) {
    testWorkerExit();
    const read = await itemAt(reads, i);
    if (!read.ok) {
      result.readFailure = { at: i, code: errnoOf(read.failure), message: messageOf(read.failure) };
      return result;
    }
    const address = itemAt(batch.addresses, i);
    result.fileBytes[i] = read.length;
    const file = itemAt(files, i).subarray(0, read.length);
    const out = chunk.subarray(0, itemAt(batch.sizes, i));
    try {
      openChunkFile(opener, '', file, batch.hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES), out, scratch);
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

// Messages are handled one at a time, in order: the set-up, then jobs. A batch's reads start
// when it arrives (once the set-up is done), before the batches ahead of it are finished.
let queue: Promise<void> = Promise.resolve();
parentPort?.on('message', (message: DecodeMessage) => {
  const early = 'paths' in message && ready ? startReads(message, ready.setup.fileBytes) : null;
  queue = queue.then(() => handle(message, early));
});

async function handle(message: DecodeMessage, early: BatchReads | null): Promise<void> {
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
      result = await placeBatch(message, ready, early ?? startReads(message, ready.setup.fileBytes));
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
