// A send worker thread: for each batch, read its chunks from the source (one positional read per
// run of consecutive chunks, on the descriptors the main thread opened; around the page cache
// where the file system allows it: source-reader.ts); for each chunk detect
// zeros, compress, hash, compare with the archive's hash, and encrypt. In direct mode it also
// writes the chunk file, with the code LocalStore and the destination helper write new files
// with (confined-fs/new-file.ts: beneath the archive's descriptor, never through a link, never
// over an existing file; no fsync: the commit makes the destination durable once, before
// publishing). Otherwise the chunk file is left in the batch's output slot for the main thread.
// One reply per batch.

import { parentPort } from 'node:worker_threads';
import { writeNewFileBeneath } from '../../../confined-fs/new-file.js';
import { errnoOf, messageOf } from '../../../protocol/thrown.js';
import { maxChunkFileBytes } from '../../archive/chunk-file.js';
import { makeCodec } from '../../archive/compression/index.js';
import { xchacha20Xor } from '../../archive/crypto/xchacha20.js';
import { CHUNK_OVERHEAD } from '../../archive/envelope.js';
import { type DataHasher, dataHasherFor, HASH_BYTES, hashesEqual, initHashing } from '../../archive/hash.js';
import { dataNonce } from '../../archive/nonces.js';
import {
  type ChunkBatch,
  type ChunkFailure,
  KIND_DATA,
  KIND_SAME,
  KIND_ZERO,
  type SetupMessage,
  type WorkerMessage,
  type WorkerReply,
  type WorkerSetup,
  type WriteJob,
} from './chunk-job.js';
import { SourceReader } from './source-reader.js';
import { testWorkerExit } from './test-worker-exit.js';

// The pool starts its workers before the archive is open (module loading overlaps the main
// thread's start-up); the archive's settings arrive as the first message.
interface Setup {
  settings: WorkerSetup;
  codec: ReturnType<typeof makeCodec>;
  hasher: DataHasher;
  zeros: Buffer;
  maxFile: number;
  /** Reads the runs of chunks, into one buffer reused for every batch (fresh buffers cost page faults). */
  reader: SourceReader;
  scratch: Buffer;
  ownOutput: Buffer;
  /** The pool's shared output slots. */
  slots: SharedArrayBuffer;
  outputBytes: number;
}
let setup: Setup | null = null;
let setupFailure: string | null = null;

async function configure({ settings, slots, outputBytes }: SetupMessage): Promise<Setup> {
  // Encrypted archives hash chunks with HMAC-SHA256; only unencrypted ones need BLAKE2b.
  if (!settings.crypto) await initHashing();
  const codec = makeCodec(settings.compression, settings.level);
  const maxFile = maxChunkFileBytes(settings.chunkSize);
  return {
    settings,
    codec,
    hasher: dataHasherFor(settings.crypto?.manifestHashKey ?? null),
    zeros: Buffer.alloc(settings.chunkSize),
    maxFile,
    reader: new SourceReader(),
    scratch: Buffer.allocUnsafe(codec.maxCompressedBytes(settings.chunkSize)),
    ownOutput: Buffer.allocUnsafe(maxFile + 64),
    slots,
    outputBytes,
  };
}

/** A chunk that could not be done; the batch stops there. */
class ChunkStop extends Error {
  constructor(
    readonly stage: ChunkFailure['stage'],
    message: string,
    readonly errorCode: string | null,
  ) {
    super(message);
  }
}

/**
 * Reads the consecutive chunks `indexes[from..to)` with one positional read (a batch covers
 * about 1 MiB: large reads, as a disk likes them) into the reader's buffer. Returns the bytes
 * read: fewer than asked when the source ended early.
 */
function readRun(job: ChunkBatch, from: number, to: number, setup: Setup): Buffer {
  const chunkSize = setup.settings.chunkSize;
  const position = (job.indexes[from] as number) * chunkSize;
  const length = Math.min((to - from) * chunkSize, job.volsize - position);
  try {
    return setup.reader.read({ fd: job.sourceFd, directFd: job.sourceDirectFd }, position, length);
  } catch (error) {
    throw new ChunkStop('read', `reading the source volume at byte ${position}: ${messageOf(error)}`, errnoOf(error) ?? 'EIO');
  }
}

/** One chunk of a batch, read as `data`: its kind, hash and chunk file size go to the reply at position `n`. */
function processChunk(job: ChunkBatch, n: number, data: Buffer, setup: Setup, reply: WorkerReply): void {
  const { settings, codec, hasher, zeros, maxFile, scratch } = setup;
  const length = data.length;
  const chunkSize = settings.chunkSize;
  // Only a full-size chunk of zeros becomes a "0" line; a short last chunk is always data.
  if (length === chunkSize && data.equals(zeros)) {
    reply.kinds[n] = KIND_ZERO;
    return;
  }
  const compressed = scratch.subarray(0, codec.compressInto(data, scratch));
  const hash = hasher.digest(compressed);
  reply.hashes.set(hash, n * HASH_BYTES);
  if (job.hasPrevious[n] && hashesEqual(hash, job.previousHashes.subarray(n * HASH_BYTES, (n + 1) * HASH_BYTES))) {
    reply.kinds[n] = KIND_SAME;
    return;
  }
  reply.kinds[n] = KIND_DATA;
  const slot = job.outputSlots?.[n];
  const out = slot === undefined ? setup.ownOutput : Buffer.from(setup.slots, slot * setup.outputBytes, setup.outputBytes);
  const crypto = settings.crypto;
  const outLength = compressed.length + (crypto ? CHUNK_OVERHEAD : 0);
  if (outLength > maxFile || outLength > out.length)
    throw new ChunkStop('chunk', `compressed chunk of ${outLength} bytes exceeds the format's ${maxFile}`, null);
  reply.outLengths[n] = outLength;
  const path = job.writePaths?.[n];
  // A dry run (send --dry-run, receive --sparse's local compare) keeps no chunk file: no nonce,
  // no encryption (a ct nonce would also need a real clock).
  if (slot === undefined && path === undefined) return;
  if (crypto) {
    const nonce = dataNonce(crypto.style, crypto.dataNonceKey, compressed, hash, BigInt(job.ctFirst) + BigInt(n), job.nowSeconds);
    out.set(nonce, 0);
    xchacha20Xor(crypto.dataKey, nonce, compressed, out.subarray(CHUNK_OVERHEAD));
  } else {
    compressed.copy(out);
  }
  if (path !== undefined) {
    try {
      writeNewFileBeneath(job.writeRootFd, path, out.subarray(0, outLength));
    } catch (error) {
      throw new ChunkStop('write', messageOf(error), errnoOf(error) ?? 'EIO');
    }
  }
}

function runBatch(job: ChunkBatch, setup: Setup): WorkerReply {
  const count = job.indexes.length;
  const reply: WorkerReply = {
    id: job.id,
    kinds: new Uint8Array(count),
    hashes: new Uint8Array(count * HASH_BYTES),
    outLengths: new Uint32Array(count),
    failure: null,
  };
  const chunkSize = setup.settings.chunkSize;
  let n = 0;
  try {
    while (n < count) {
      // A run of consecutive indexes, read at once.
      let end = n + 1;
      while (end < count && job.indexes[end] === (job.indexes[end - 1] as number) + 1) end++;
      const run = readRun(job, n, end, setup);
      for (let offset = 0; n < end; n++, offset += chunkSize) {
        testWorkerExit();
        const index = job.indexes[n] as number;
        const length = Math.min(chunkSize, job.volsize - index * chunkSize);
        if (offset + length > run.length) throw new ChunkStop('read', `source volume shrank while being read (chunk ${index})`, null);
        processChunk(job, n, run.subarray(offset, offset + length), setup, reply);
      }
    }
  } catch (error) {
    reply.failure =
      error instanceof ChunkStop
        ? { at: n, stage: error.stage, error: error.message, errorCode: error.errorCode }
        : { at: n, stage: 'chunk', error: messageOf(error), errorCode: null };
  }
  return reply;
}

/** A reply with no chunks done (a write job's, or a batch's that could not start). */
function chunklessReply(id: number, failure: ChunkFailure | null): WorkerReply {
  return { id, kinds: new Uint8Array(0), hashes: new Uint8Array(0), outLengths: new Uint32Array(0), failure };
}

/** A dedup send's write of a chunk file already in an output slot (WriteJob). */
function writeFromSlot(job: WriteJob, setup: Setup): WorkerReply {
  const reply = chunklessReply(job.id, null);
  try {
    writeNewFileBeneath(job.write.rootFd, job.write.path, Buffer.from(setup.slots, job.slot * setup.outputBytes, job.write.length));
  } catch (error) {
    reply.failure = { at: 0, stage: 'write', error: messageOf(error), errorCode: errnoOf(error) ?? 'EIO' };
  }
  return reply;
}

// Messages are handled one at a time, in order: the setup, then jobs.
let queue: Promise<void> = Promise.resolve();
parentPort?.on('message', (message: WorkerMessage) => {
  queue = queue.then(() => handle(message));
});

async function handle(message: WorkerMessage): Promise<void> {
  if ('settings' in message) {
    // A failure is reported with each job, so the pipeline ends with it instead of waiting.
    setup = await configure(message).catch((error: unknown) => {
      setupFailure = messageOf(error);
      return null;
    });
    return;
  }
  const job = message;
  let reply: WorkerReply;
  if (!setup) {
    const error = setupFailure ?? 'send worker: a job came before its setup';
    reply = chunklessReply(job.id, { at: 0, stage: 'chunk', error, errorCode: null });
  } else if ('write' in job) {
    testWorkerExit();
    reply = writeFromSlot(job, setup);
  } else {
    reply = runBatch(job, setup);
  }
  // A few hundred bytes a batch: copied, not transferred.
  parentPort?.postMessage(reply);
}
