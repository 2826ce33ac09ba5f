// The messages between the send pipeline and its worker threads. A job is a batch: several
// chunk indexes of one volume, answered by one reply, so the messages per chunk stay far below
// one. The worker reads each chunk itself (a positional read on the source's descriptor, which
// the main thread opened), so no chunk's bytes pass through the main thread on the way in.
// Chunk files leave in one of two ways: the worker writes them itself (file: destinations,
// "direct"), or it leaves each in an output slot of one SharedArrayBuffer that the workers
// receive once, for the main thread to hand to the Store (remote destinations, and --dedup,
// which decides per chunk). Nothing is allocated, copied or transferred per chunk but the
// 32-byte hashes and a few numbers.

import type { CompressionName } from '../../archive/compression/index.js';
import type { NonceStyle } from '../../archive/crypto/cipher-modes.js';

export interface WorkerSetup {
  compression: CompressionName;
  level: number;
  chunkSize: number;
  /** null for unencrypted archives. */
  crypto: { style: NonceStyle; dataKey: Uint8Array; manifestHashKey: Uint8Array; dataNonceKey: Uint8Array | null } | null;
}

/** The first message a worker gets: the archive's settings and the shared output slots. */
export interface SetupMessage {
  settings: WorkerSetup;
  slots: SharedArrayBuffer;
  /** Bytes of one output slot (the largest chunk file, and a margin). */
  outputBytes: number;
  /** Source bytes this worker may hold read ahead (its share: source-reader.ts). */
  readAheadBytes: number;
}

export type WorkerMessage = SetupMessage | ChunkBatch | WriteJob;

/** Per chunk of a reply: what the chunk turned out to be. */
export const KIND_ZERO = 1;
export const KIND_SAME = 2;
export const KIND_DATA = 3;

export interface ChunkBatch {
  id: number;
  /** The source volume's descriptor (open on the main thread until every batch has answered). */
  sourceFd: number;
  /** The same, opened O_DIRECT (worker reads bypass the page cache: source-reader.ts); -1 where the file system refused. */
  sourceDirectFd: number;
  /** The source's size: the last chunk may be short. */
  volsize: number;
  /** Chunk indexes, ascending (not necessarily consecutive). */
  indexes: number[];
  /** 32 bytes a chunk: the hash the archive holds for that address, compared where `hasPrevious`. */
  previousHashes: Uint8Array;
  hasPrevious: Uint8Array;
  /** Output slot per chunk: the chunk file is left there (buffers mode); null: it is not kept. */
  outputSlots: number[] | null;
  /**
   * Archive path per chunk, written confined beneath the archive directory open as `writeRootFd`
   * (direct mode); null: not written here (buffers mode, or a dry run when `outputSlots` is null too).
   */
  writePaths: string[] | null;
  writeRootFd: number;
  /** ct mode: the first of `indexes.length` consecutive counters reserved for this batch (decimal). */
  ctFirst: string;
  nowSeconds: number;
}

/**
 * Dedup sends to a file: destination: the batch left the chunk file in an output slot, the main
 * thread found no identical chunk in the archive, and a worker writes the file.
 */
export interface WriteJob {
  id: number;
  slot: number;
  write: { path: string; rootFd: number; length: number };
}

/** Why a batch stopped at one of its chunks (the chunks after it were not done). */
export interface ChunkFailure {
  /** Position in the batch. */
  at: number;
  /** read: the source; chunk: making the chunk file; write: storing it (with `errorCode`). */
  stage: 'read' | 'chunk' | 'write';
  error: string;
  /** The errno code of a failed read or write (ENOSPC, EACCES, EIO…), when there is one. */
  errorCode: string | null;
}

/**
 * The answer to a batch (or to a write job: no chunks, `failure` or not). The chunks before
 * `failure.at` (all of them without a failure) are done: kind, hash (DATA and SAME) and the
 * chunk file's size (DATA).
 */
export interface WorkerReply {
  id: number;
  kinds: Uint8Array;
  hashes: Uint8Array;
  outLengths: Uint32Array;
  failure: ChunkFailure | null;
}
