// A send worker thread: for each chunk, detect zeros, compress, hash, compare with the archive's
// hash, and encrypt. In direct mode it also writes the chunk file, with the code LocalStore and
// the destination helper write new files with (confined-fs/new-file.ts: beneath the archive's
// descriptor, never through a link, never over an existing file; no fsync: the commit makes
// the destination durable once, before publishing).

import { parentPort } from 'node:worker_threads';
import { writeNewFileBeneath } from '../../../confined-fs/new-file.js';
import { errnoOf, messageOf } from '../../../protocol/thrown.js';
import { maxChunkFileBytes } from '../../archive/chunk-file.js';
import { makeCodec } from '../../archive/compression/index.js';
import { xchacha20Xor } from '../../archive/crypto/xchacha20.js';
import { CHUNK_OVERHEAD } from '../../archive/envelope.js';
import { type DataHasher, dataHasherFor, hashesEqual, initHashing } from '../../archive/hash.js';
import { dataNonce } from '../../archive/nonces.js';
import type { ChunkJob, ChunkResult, SetupMessage, WorkerMessage, WorkerSetup, WriteJob } from './chunk-job.js';
import { testWorkerExit } from './test-worker-exit.js';

// The pool starts its workers before the archive is open (module loading overlaps the main
// thread's start-up); the archive's settings arrive as the first message.
interface Setup {
  settings: WorkerSetup;
  codec: ReturnType<typeof makeCodec>;
  hasher: DataHasher;
  zeros: Buffer;
  maxFile: number;
  /** Reused for every chunk: fresh buffers cost page faults on each use. */
  scratch: Buffer;
  ownOutput: Buffer;
  /** The pool's shared slots. */
  slots: SharedArrayBuffer;
  inputBytes: number;
  outputBytes: number;
}
let setup: Setup | null = null;
let setupFailure: string | null = null;

async function configure({ settings, slots, inputBytes, outputBytes }: SetupMessage): Promise<Setup> {
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
    scratch: Buffer.allocUnsafe(codec.maxCompressedBytes(settings.chunkSize)),
    ownOutput: Buffer.allocUnsafe(maxFile + 64),
    slots,
    inputBytes,
    outputBytes,
  };
}

type Outcome = Pick<ChunkResult, 'kind' | 'hash' | 'outLength' | 'error' | 'errorCode'>;

function processChunk(job: ChunkJob, setup: Setup): Outcome {
  const { settings, codec, hasher, zeros, maxFile, scratch, ownOutput } = setup;
  const base = job.slot * (setup.inputBytes + setup.outputBytes);
  const data = Buffer.from(setup.slots, base, job.length);
  // Only a full-size chunk of zeros becomes a "0" line; a short last chunk is always data.
  if (job.length === settings.chunkSize && data.equals(zeros))
    return { kind: 'zero', hash: null, outLength: 0, error: null, errorCode: null };
  const compressed = scratch.subarray(0, codec.compressInto(data, scratch));
  const hash = hasher.digest(compressed);
  if (job.previousHash && hashesEqual(hash, job.previousHash)) return { kind: 'same', hash, outLength: 0, error: null, errorCode: null };
  const out = job.output ? Buffer.from(setup.slots, base + setup.inputBytes, setup.outputBytes) : ownOutput;
  const crypto = settings.crypto;
  const outLength = compressed.length + (crypto ? CHUNK_OVERHEAD : 0);
  if (outLength > maxFile || outLength > out.length) {
    return {
      kind: 'data',
      hash,
      outLength: 0,
      error: `compressed chunk of ${outLength} bytes exceeds the format's ${maxFile}`,
      errorCode: null,
    };
  }
  // A dry run (send --dry-run, receive --sparse's local compare) keeps no chunk file: no nonce,
  // no encryption (a ct nonce would also need a real clock).
  if (!job.output && !job.writePath) return { kind: 'data', hash, outLength, error: null, errorCode: null };
  if (crypto) {
    const nonce = dataNonce(crypto.style, crypto.dataNonceKey, compressed, hash, BigInt(job.ctCounter), job.nowSeconds);
    out.set(nonce, 0);
    xchacha20Xor(crypto.dataKey, nonce, compressed, out.subarray(CHUNK_OVERHEAD));
  } else {
    compressed.copy(out);
  }
  if (job.writePath) {
    try {
      writeNewFileBeneath(job.writeRootFd, job.writePath, out.subarray(0, outLength));
    } catch (error) {
      const code = errnoOf(error) ?? 'EIO';
      return { kind: 'data', hash, outLength: 0, error: messageOf(error), errorCode: code };
    }
  }
  return { kind: 'data', hash, outLength, error: null, errorCode: null };
}

/** A dedup send's write of a chunk file already in the slot's output (WriteJob). */
function writeFromSlot(job: WriteJob, setup: Setup): Outcome {
  const base = job.slot * (setup.inputBytes + setup.outputBytes) + setup.inputBytes;
  try {
    writeNewFileBeneath(job.write.rootFd, job.write.path, Buffer.from(setup.slots, base, job.write.length));
  } catch (error) {
    const code = errnoOf(error) ?? 'EIO';
    return { kind: 'data', hash: null, outLength: 0, error: messageOf(error), errorCode: code };
  }
  return { kind: 'data', hash: null, outLength: job.write.length, error: null, errorCode: null };
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
  testWorkerExit();
  const job = message;
  let result: Outcome;
  try {
    if (!setup) throw new Error(setupFailure ?? 'send worker: a job came before its setup');
    result = 'write' in job ? writeFromSlot(job, setup) : processChunk(job, setup);
  } catch (error) {
    result = { kind: 'data', hash: null, outLength: 0, error: messageOf(error), errorCode: null };
  }
  const reply: ChunkResult = { id: job.id, slot: job.slot, ...result };
  parentPort?.postMessage(reply);
}
