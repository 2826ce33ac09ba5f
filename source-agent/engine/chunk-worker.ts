// A send worker thread: for each chunk, detect zeros, compress, hash, compare with the archive's
// hash, and encrypt into the output buffer. CPU-bound work only; no I/O.

import { parentPort, workerData } from 'node:worker_threads';
import { makeCodec } from '../archive/compression/index.js';
import { xchacha20Xor } from '../archive/crypto/xchacha20.js';
import { CHUNK_OVERHEAD } from '../archive/envelope.js';
import { blake2bDataHasher, hashesEqual, hmacSha256DataHasher, initHashing } from '../archive/hash.js';
import { dataNonce } from '../archive/nonces.js';
import type { ChunkJob, ChunkResult, WorkerSetup } from './chunk-job.js';

const setup = workerData as WorkerSetup;
await initHashing();
const codec = makeCodec(setup.compression, setup.level);
const hasher = setup.crypto ? hmacSha256DataHasher(setup.crypto.manifestHashKey) : blake2bDataHasher;
const zeros = Buffer.alloc(setup.chunkSize);
const maxFile = setup.chunkSize + Math.floor(setup.chunkSize / 64);

function process(job: ChunkJob): Omit<ChunkResult, 'id' | 'input' | 'output'> {
  const data = Buffer.from(job.input, 0, job.length);
  // Only a full-size chunk of zeros becomes a "0" line; a short last chunk is always data.
  if (job.length === setup.chunkSize && data.equals(zeros)) return { kind: 'zero', hash: null, outLength: 0, error: null };
  const compressed = codec.compress(data);
  const hash = hasher.digest(compressed);
  if (job.previousHash && hashesEqual(hash, job.previousHash)) return { kind: 'same', hash, outLength: 0, error: null };
  const out = Buffer.from(job.output);
  const crypto = setup.crypto;
  const outLength = compressed.length + (crypto ? CHUNK_OVERHEAD : 0);
  if (outLength > maxFile || outLength > out.length) {
    return { kind: 'data', hash, outLength: 0, error: `compressed chunk of ${outLength} bytes exceeds the format's ${maxFile}` };
  }
  if (crypto) {
    const nonce = dataNonce(crypto.style, crypto.dataNonceKey, compressed, hash, BigInt(job.ctCounter), job.nowSeconds);
    out.set(nonce, 0);
    xchacha20Xor(crypto.dataKey, nonce, compressed, out.subarray(CHUNK_OVERHEAD));
  } else {
    compressed.copy(out);
  }
  return { kind: 'data', hash, outLength, error: null };
}

parentPort?.on('message', (job: ChunkJob) => {
  let result: Omit<ChunkResult, 'id' | 'input' | 'output'>;
  try {
    result = process(job);
  } catch (error) {
    result = { kind: 'data', hash: null, outLength: 0, error: (error as Error).message };
  }
  const message: ChunkResult = { id: job.id, input: job.input, output: job.output, ...result };
  parentPort?.postMessage(message, [job.input, job.output]);
});
