// A restore decode worker: for each chunk file in its slot, decrypt, check the hash and
// decompress into the slot's chunk part, with exactly the checks of Archive.openChunk.

import { parentPort } from 'node:worker_threads';
import { messageOf } from '../../../protocol/thrown.js';
import { type ChunkOpener, openChunkFile } from '../../archive/chunk-file.js';
import { makeCodec } from '../../archive/compression/index.js';
import { dataHasherFor, initHashing } from '../../archive/hash.js';
import { IntegrityError } from '../../errors.js';
import type { DecodeJob, DecodeMessage, DecodeResult, DecodeSetup } from './decode-job.js';
import { testWorkerExit } from './test-worker-exit.js';

interface Ready {
  setup: DecodeSetup;
  opener: ChunkOpener;
  /** Reused for every chunk's decrypted bytes. */
  scratch: Buffer;
}
let ready: Ready | null = null;
let setupFailure: string | null = null;

async function configure(setup: DecodeSetup): Promise<Ready> {
  if (!setup.manifestHashKey) await initHashing();
  return {
    setup,
    opener: { dataKey: setup.dataKey, hasher: dataHasherFor(setup.manifestHashKey), codec: makeCodec(setup.compression, setup.level) },
    scratch: Buffer.allocUnsafe(setup.fileBytes),
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
