// The messages between the restore stream and its decode workers. As in send (chunk-job.ts), the
// buffers live in one SharedArrayBuffer of slots (chunk file, decompressed chunk) that the workers
// receive once; a job names its slot. The main thread reads a chunk file into its slot; a worker
// decrypts, checks and decompresses it into the same slot; the main thread hands that view on.

import type { CompressionName } from '../../archive/compression/index.js';

export interface DecodeSetup {
  compression: CompressionName;
  level: number;
  /** null for unencrypted archives (then the hash is BLAKE2b). */
  dataKey: Uint8Array | null;
  manifestHashKey: Uint8Array | null;
  slots: SharedArrayBuffer;
  /** Bytes of one slot's file part (the largest chunk file) and chunk part (the chunk size). */
  fileBytes: number;
  chunkBytes: number;
}

export interface DecodeJob {
  id: number;
  slot: number;
  /** Bytes of the chunk file at the start of the slot. */
  fileLength: number;
  /** The chunk's decompressed size. */
  size: number;
  /** The hash the manifest gives (32 bytes). */
  hash: Uint8Array;
}

export type DecodeMessage = DecodeSetup | DecodeJob;

export interface DecodeResult {
  id: number;
  /** What is wrong with the chunk (an IntegrityError's detail), or null when it is good. */
  integrity: string | null;
  /** Any other failure (a bug, or the worker's set-up failing). */
  error: string | null;
}
