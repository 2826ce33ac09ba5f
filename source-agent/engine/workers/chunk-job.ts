// The messages between the send pipeline and its worker threads. The chunk buffers live in one
// SharedArrayBuffer of slots (input chunk, output chunk file) that the workers receive once;
// a job names its slot, so no buffer is allocated, copied or transferred per chunk. The main
// thread reads a chunk into its slot's input; the worker leaves the chunk file in the slot's
// output, or (file: destinations, "direct") writes it itself, so the main thread does no
// per-chunk file I/O.

import type { CompressionName } from '../../archive/compression/index.js';
import type { NonceStyle } from '../../archive/crypto/cipher-modes.js';

export interface WorkerSetup {
  compression: CompressionName;
  level: number;
  chunkSize: number;
  /** null for unencrypted archives. */
  crypto: { style: NonceStyle; dataKey: Uint8Array; manifestHashKey: Uint8Array; dataNonceKey: Uint8Array | null } | null;
}

/** The first message a worker gets: the archive's settings and the shared slots. */
export interface SetupMessage {
  settings: WorkerSetup;
  slots: SharedArrayBuffer;
  /** Bytes of one slot's input part (the chunk size) and output part (the largest chunk file). */
  inputBytes: number;
  outputBytes: number;
}

export type WorkerMessage = SetupMessage | ChunkJob | WriteJob;

export interface ChunkJob {
  id: number;
  /** The slot holding the chunk's bytes (and, when `output`, receiving the chunk file). */
  slot: number;
  length: number;
  /** Leave the chunk file in the slot's output (buffers mode); else write it to `writePath` (or nowhere, in a dry run). */
  output: boolean;
  /** An archive path, written confined beneath the archive directory open as `writeRootFd`. */
  writePath: string | null;
  writeRootFd: number;
  /** The hash the archive holds for this address (32 bytes), or null. */
  previousHash: Uint8Array | null;
  /** ct mode: the counter value for this chunk's nonce (decimal). */
  ctCounter: string;
  nowSeconds: number;
}

/**
 * Dedup sends to a file: destination: the chunk job left the chunk file in the slot's output,
 * the main thread found no identical chunk in the archive, and a worker writes the file.
 */
export interface WriteJob {
  id: number;
  slot: number;
  write: { path: string; rootFd: number; length: number };
}

/** zero: a full chunk of zeros; same: hash equals previousHash; data: a chunk file was made. */
export type ChunkKind = 'zero' | 'same' | 'data';

export interface ChunkResult {
  id: number;
  slot: number;
  kind: ChunkKind;
  hash: Uint8Array | null;
  /** Size of the chunk file. */
  outLength: number;
  error: string | null;
  /** The errno code when writing the chunk file failed (ENOSPC, EACCES…). */
  errorCode: string | null;
}
