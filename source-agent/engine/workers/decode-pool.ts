// The restore stream's decode workers (one per core) and their slots: one SharedArrayBuffer of
// (chunk file, decompressed chunk) pairs, so that reading, decoding and writing out take turns on
// the same memory and nothing is copied or transferred between threads. The caller owns the
// slots' order (restore-stream.ts keeps them in a ring); the pool only runs jobs on them. A
// direct receive (direct-receive.ts) needs no slots: its workers read and write through their own
// buffers, one batch of chunks per message.

import { availableParallelism } from 'node:os';
import type { CompressionName } from '../../archive/compression/index.js';
import type { DecodeBatch, DecodeBatchResult, DecodeJob, DecodeResult, DecodeSetup } from './decode-job.js';
import { ThreadPool } from './thread-pool.js';

export interface DecodeSettings {
  compression: CompressionName;
  level: number;
  dataKey: Uint8Array | null;
  manifestHashKey: Uint8Array | null;
  /** Largest chunk file, and the chunk size. */
  fileBytes: number;
  chunkBytes: number;
}

export class DecodePool {
  private readonly threads: ThreadPool<DecodeJob | DecodeBatch, DecodeResult | DecodeBatchResult>;
  private readonly memory: SharedArrayBuffer;

  constructor(
    private readonly settings: DecodeSettings,
    readonly slotCount: number,
    workers = availableParallelism(),
  ) {
    this.memory = new SharedArrayBuffer(slotCount * (settings.fileBytes + settings.chunkBytes));
    this.threads = new ThreadPool(new URL('./decode-worker.js', import.meta.url), workers, 'decode');
    this.threads.broadcast({
      compression: settings.compression,
      level: settings.level,
      dataKey: settings.dataKey,
      manifestHashKey: settings.manifestHashKey,
      slots: this.memory,
      fileBytes: settings.fileBytes,
      chunkBytes: settings.chunkBytes,
    } satisfies DecodeSetup);
  }

  /** The slot's chunk-file part, to read a chunk file into. */
  fileView(slot: number): Buffer {
    return Buffer.from(this.memory, slot * (this.settings.fileBytes + this.settings.chunkBytes), this.settings.fileBytes);
  }

  /** The slot's decoded chunk (valid after its decode, until the slot's next job). */
  chunkView(slot: number, size: number): Buffer {
    return Buffer.from(this.memory, slot * (this.settings.fileBytes + this.settings.chunkBytes) + this.settings.fileBytes, size);
  }

  /** Decodes the chunk file at the start of the slot into the slot's chunk part. */
  async decode(job: Omit<DecodeJob, 'id'>): Promise<DecodeResult> {
    const result = await this.threads.run(job);
    if ('placed' in result) throw new Error('decode worker: a batch result for a decode job');
    return result;
  }

  /** Reads, checks and places a batch of chunks (a direct receive; see DecodeBatch). */
  async place(batch: Omit<DecodeBatch, 'id'>): Promise<DecodeBatchResult> {
    const result = await this.threads.run(batch);
    if (!('placed' in result)) throw new Error('decode worker: a decode result for a batch');
    return result;
  }

  get workers(): number {
    return this.threads.size;
  }

  close(): Promise<void> {
    return this.threads.close();
  }
}
