// The messages between the send pipeline and its worker threads. Buffers travel by transfer:
// the main thread reads a chunk into an input buffer, hands both buffers to a worker, and gets
// them back with the result, so steady state allocates nothing per chunk for I/O.

import type { CompressionName } from '../archive/compression/index.js';
import type { NonceStyle } from '../archive/crypto/cipher-modes.js';

export interface WorkerSetup {
  compression: CompressionName;
  level: number;
  chunkSize: number;
  /** null for unencrypted archives. */
  crypto: { style: NonceStyle; dataKey: Uint8Array; manifestHashKey: Uint8Array; dataNonceKey: Uint8Array | null } | null;
}

export interface ChunkJob {
  id: number;
  input: ArrayBuffer;
  length: number;
  output: ArrayBuffer;
  /** The hash the archive holds for this address (32 bytes), or null. */
  previousHash: Uint8Array | null;
  /** ct mode: the counter value for this chunk's nonce (decimal). */
  ctCounter: string;
  nowSeconds: number;
}

/** zero: a full chunk of zeros; same: hash equals previousHash; data: output holds the chunk file. */
export type ChunkKind = 'zero' | 'same' | 'data';

export interface ChunkResult {
  id: number;
  kind: ChunkKind;
  input: ArrayBuffer;
  output: ArrayBuffer;
  hash: Uint8Array | null;
  /** Bytes of `output` that form the chunk file. */
  outLength: number;
  error: string | null;
}
