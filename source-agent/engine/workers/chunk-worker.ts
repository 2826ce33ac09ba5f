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
import { alignedLength, SourceReader } from './source-reader.js';
import { testWorkerExit } from './test-worker-exit.js';

// The pool starts its workers before it has work for them (module loading overlaps the main
// thread's preparing of the volumes); the archive's settings arrive as the first message.
interface Setup {
  settings: WorkerSetup;
  codec: ReturnType<typeof makeCodec>;
  hasher: DataHasher;
  zeros: Buffer;
  maxFile: number;
  /** Reads the batches' runs of chunks, into buffers reused from batch to batch (fresh ones cost page faults). */
  reader: SourceReader;
  scratch: Buffer;
  ownOutput: Buffer;
  /** The pool's shared output slots. */
  slots: SharedArrayBuffer;
  outputBytes: number;
}
let setup: Setup | null = null;
let setupFailure: string | null = null;

async function configure({ settings, slots, outputBytes, readAheadBytes }: SetupMessage): Promise<Setup> {
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
    reader: new SourceReader(readAheadBytes),
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

/** A run of consecutive chunks of a batch, `indexes[from..to)`, as read: its bytes, or why not. */
interface RunRead {
  from: number;
  to: number;
  /** Fewer bytes than the run covers when the source ended early. */
  data: Buffer | null;
  failure: ChunkStop | null;
}

/** A batch's source bytes, read before its turn; `buffer` goes back to the reader after it. */
interface BatchRead {
  buffer: Buffer;
  runs: RunRead[];
}

/**
 * Reads a batch's runs of consecutive chunks, each with one positional read (a batch covers
 * about 4 MiB: large reads, as a disk likes them), all at once: started when the batch arrives,
 * while the worker may still work on earlier ones (source-reader.ts: direct reads have no
 * read-ahead, so this is the read-ahead).
 */
async function readBatch(job: ChunkBatch, setup: Setup): Promise<BatchRead> {
  const chunkSize = setup.settings.chunkSize;
  const count = job.indexes.length;
  const planned: { from: number; to: number; position: number; length: number; offset: number }[] = [];
  let bytes = 0;
  for (let n = 0; n < count; ) {
    let end = n + 1;
    while (end < count && job.indexes[end] === (job.indexes[end - 1] as number) + 1) end++;
    const position = (job.indexes[n] as number) * chunkSize;
    const length = Math.min((end - n) * chunkSize, job.volsize - position);
    planned.push({ from: n, to: end, position, length, offset: bytes });
    bytes += alignedLength(length);
    n = end;
  }
  const buffer = await setup.reader.take(bytes);
  const source = { fd: job.sourceFd, directFd: job.sourceDirectFd };
  const runs = await Promise.all(
    planned.map(async ({ from, to, position, length, offset }): Promise<RunRead> => {
      try {
        return { from, to, data: await setup.reader.read(source, position, length, buffer, offset), failure: null };
      } catch (error) {
        const failure = new ChunkStop(
          'read',
          `reading the source volume at byte ${position}: ${messageOf(error)}`,
          errnoOf(error) ?? 'EIO',
        );
        return { from, to, data: null, failure };
      }
    }),
  );
  return { buffer, runs };
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

function runBatch(job: ChunkBatch, setup: Setup, read: BatchRead): WorkerReply {
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
    for (const run of read.runs) {
      if (run.failure) throw run.failure;
      const data = run.data as Buffer;
      for (let offset = 0; n < run.to; n++, offset += chunkSize) {
        testWorkerExit();
        const index = job.indexes[n] as number;
        const length = Math.min(chunkSize, job.volsize - index * chunkSize);
        if (offset + length > data.length) throw new ChunkStop('read', `source volume shrank while being read (chunk ${index})`, null);
        processChunk(job, n, data.subarray(offset, offset + length), setup, reply);
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

// Messages are handled one at a time, in order: the setup, then jobs. A batch's reads start as
// soon as it arrives (readBatch), its work in its turn.
let queue: Promise<void> = Promise.resolve();
/** The setup being made (a failure is reported with each job, so the pipeline ends with it instead of waiting). */
let configured: Promise<Setup | null> = Promise.resolve(null);
const reads = new Map<number, Promise<BatchRead | null>>();
parentPort?.on('message', (message: WorkerMessage) => {
  if ('settings' in message) {
    const ready = configure(message).catch((error: unknown) => {
      setupFailure = messageOf(error);
      return null;
    });
    configured = ready;
    queue = queue.then(async () => {
      setup = await ready;
    });
    return;
  }
  if (!('write' in message)) {
    const job = message;
    reads.set(
      job.id,
      configured.then((ready) => (ready ? readBatch(job, ready) : null)),
    );
  }
  queue = queue.then(() => handle(message));
});

async function handle(job: ChunkBatch | WriteJob): Promise<void> {
  let reply: WorkerReply;
  if (!setup) {
    reads.delete(job.id);
    const error = setupFailure ?? 'send worker: a job came before its setup';
    reply = chunklessReply(job.id, { at: 0, stage: 'chunk', error, errorCode: null });
  } else if ('write' in job) {
    testWorkerExit();
    reply = writeFromSlot(job, setup);
  } else {
    reply = await batchReply(job, setup);
  }
  // A few hundred bytes a batch: copied, not transferred.
  parentPort?.postMessage(reply);
}

/** The batch's reply, once its reads (started when it arrived) are done; its buffer goes back after. */
async function batchReply(job: ChunkBatch, ready: Setup): Promise<WorkerReply> {
  const pending = reads.get(job.id);
  reads.delete(job.id);
  let read: BatchRead | null;
  try {
    read = (await pending) ?? null;
  } catch (error) {
    return chunklessReply(job.id, { at: 0, stage: 'read', error: messageOf(error), errorCode: errnoOf(error) ?? 'EIO' });
  }
  if (!read) return chunklessReply(job.id, { at: 0, stage: 'chunk', error: 'send worker: the batch was not read', errorCode: null });
  try {
    return runBatch(job, ready, read);
  } finally {
    ready.reader.give(read.buffer);
  }
}
