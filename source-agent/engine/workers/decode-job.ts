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

export type DecodeMessage = DecodeSetup | DecodeJob | DecodeBatch;

export interface DecodeResult {
  id: number;
  /** What is wrong with the chunk (an IntegrityError's detail), or null when it is good. */
  integrity: string | null;
  /** Any other failure (a bug, or the worker's set-up failing). */
  error: string | null;
}

/**
 * Direct receive (engine/restore/direct-receive.ts): a worker reads, checks and places several
 * chunks in a row itself. Each chunk file is read beneath the archive's directory descriptor
 * `rootFd` (confined-fs/read-beneath.ts), decoded with the checks above into the worker's own
 * buffers, and only then written at its address to the target's descriptor `targetFd`. A chunk
 * that decodes to all zeros is not written (the main thread records it as a zero chunk: a hole,
 * a discarded range); with `firstChunk`, the chunk at address 0 is copied there instead of
 * written (a block device's first chunk goes in last, from the main thread).
 */
export interface DecodeBatch {
  id: number;
  rootFd: number;
  targetFd: number;
  /** Archive paths of the chunk files, and per chunk its address, size and hash (32 bytes each). */
  paths: string[];
  addresses: number[];
  sizes: number[];
  hashes: Uint8Array;
  /** Carry on after a chunk fails its checks (--skip-corrupt-chunks); any other failure stops the batch. */
  skipCorrupt: boolean;
  firstChunk: SharedArrayBuffer | null;
}

/** What happened to one chunk of a batch. */
export const Placed = {
  /** Written to the target at its address. */
  written: 0,
  /** Decoded to all zeros: not written. */
  zeros: 1,
  /** The first chunk, copied to the batch's firstChunk. */
  held: 2,
  /** Failed its checks (integrity[i] says how); nothing written. */
  corrupt: 3,
  /** Not reached: an earlier chunk of the batch failed. */
  notDone: 4,
} as const;
export type Placed = (typeof Placed)[keyof typeof Placed];

export interface DecodeBatchResult {
  id: number;
  placed: Placed[];
  /** Per chunk: the chunk file's size (0 when not read), and what is wrong with it (corrupt only). */
  fileBytes: number[];
  integrity: (string | null)[];
  /** The chunk file could not be read: its index in the batch, errno-style code and message. */
  readFailure: { at: number; code: string | undefined; message: string } | null;
  /** Writing to the target failed (at chunk `at`). */
  writeFailure: { at: number; code: string | undefined; message: string } | null;
  /** Any other failure (a bug, or the worker's set-up failing). */
  error: string | null;
}
