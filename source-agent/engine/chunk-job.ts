// The messages between the send pipeline and its worker threads. The main thread reads a chunk
// into a pooled input buffer and hands it to a worker (by transfer; it comes back with the
// result). The chunk file either comes back in a pooled output buffer, or (file: destinations,
// "direct") the worker writes it itself, so the main thread does no per-chunk file I/O.

import type { CompressionName } from '../archive/compression/index.js';
import type { NonceStyle } from '../archive/crypto/cipher-modes.js';

export interface WorkerSetup {
  compression: CompressionName;
  level: number;
  chunkSize: number;
  /** null for unencrypted archives. */
  crypto: { style: NonceStyle; dataKey: Uint8Array; manifestHashKey: Uint8Array; dataNonceKey: Uint8Array | null } | null;
}

/** The first message a worker gets: the archive's settings. */
export interface SetupMessage {
  settings: WorkerSetup;
}

export type WorkerMessage = SetupMessage | ChunkJob;

export interface ChunkJob {
  id: number;
  length: number;
  /** The chunk's bytes. */
  input: ArrayBuffer;
  /** Where the chunk file goes (buffers mode), or null: write it to `writePath` (or nowhere, in a dry run). */
  output: ArrayBuffer | null;
  writePath: string | null;
  /** The hash the archive holds for this address (32 bytes), or null. */
  previousHash: Uint8Array | null;
  /** ct mode: the counter value for this chunk's nonce (decimal). */
  ctCounter: string;
  nowSeconds: number;
}

/** zero: a full chunk of zeros; same: hash equals previousHash; data: a chunk file was made. */
export type ChunkKind = 'zero' | 'same' | 'data';

export interface ChunkResult {
  id: number;
  kind: ChunkKind;
  /** The job's buffers, handed back (no output buffer in direct mode). */
  input: ArrayBuffer;
  output: ArrayBuffer | null;
  hash: Uint8Array | null;
  /** Size of the chunk file. */
  outLength: number;
  error: string | null;
  /** The errno code when writing the chunk file failed (ENOSPC, EACCES…). */
  errorCode: string | null;
}
