// The send pipeline's worker pool: one worker thread per core, and a fixed set of slots (input
// chunk, output chunk file; about 32 MiB in all) in one SharedArrayBuffer that the reader, the
// workers and the writer take turns on, so memory in flight does not grow with the volume and
// no chunk buffer is allocated, copied or transferred between threads.

import { availableParallelism } from 'node:os';
import type { Archive } from '../../archive/archive.js';
import { maxChunkFileBytes } from '../../archive/chunk-file.js';
import type { ChunkJob, ChunkResult, SetupMessage, WorkerSetup, WriteJob } from './chunk-job.js';
import { ThreadPool } from './thread-pool.js';

/** One slot: its number, the chunk's bytes, and the chunk file's bytes (views on shared memory). */
export interface BufferPair {
  slot: number;
  input: Uint8Array;
  output: Uint8Array;
}

/** The workers' settings for `archive`: its compression, chunk size and data keys. */
export function workerSetupFor(archive: Archive): WorkerSetup {
  return {
    compression: archive.ini.compression,
    level: archive.ini.compressionLevel,
    chunkSize: archive.chunkSize,
    crypto: archive.keys
      ? {
          style: archive.ini.mode.nonceStyle ?? 'msr',
          dataKey: archive.keys.dataKey,
          manifestHashKey: archive.keys.manifestHashKey,
          dataNonceKey: archive.keys.dataNonceKey,
        }
      : null,
  };
}

export class ChunkPool {
  private readonly threads: ThreadPool<ChunkJob | WriteJob, ChunkResult>;
  private readonly freePairs: BufferPair[] = [];
  private readonly waiting: (() => void)[] = [];
  /** Slots a worker is working on. */
  private readonly inFlight = new Set<number>();
  private configured = false;

  /**
   * Starts the workers now; they load their modules while the caller opens the archive.
   * Nothing runs on them until `configure` gives them the archive's settings.
   */
  constructor(options: { workers?: number } = {}) {
    this.threads = new ThreadPool(new URL('./chunk-worker.js', import.meta.url), options.workers ?? availableParallelism(), 'send');
  }

  /** Gives the workers the archive's settings and the shared slots. */
  configure(settings: WorkerSetup): void {
    if (this.configured) throw new Error('ChunkPool.configure: already configured');
    this.configured = true;
    const inputBytes = settings.chunkSize;
    const outputBytes = maxChunkFileBytes(settings.chunkSize) + 64;
    const count = Math.max(4 * this.threads.size, Math.floor((32 * 1024 * 1024) / (inputBytes + outputBytes)));
    const slots = new SharedArrayBuffer(count * (inputBytes + outputBytes));
    this.threads.broadcast({ settings, slots, inputBytes, outputBytes } satisfies SetupMessage);
    for (let slot = count - 1; slot >= 0; slot--) {
      const base = slot * (inputBytes + outputBytes);
      this.freePairs.push({
        slot,
        input: new Uint8Array(slots, base, inputBytes),
        output: new Uint8Array(slots, base + inputBytes, outputBytes),
      });
    }
  }

  /** Waits for a free slot (this is what bounds the work in flight). */
  async acquire(): Promise<BufferPair> {
    for (;;) {
      const pair = this.freePairs.pop();
      if (pair) return pair;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  release(pair: BufferPair): void {
    this.freePairs.push(pair);
    this.waiting.shift()?.();
  }

  /** Whether a worker is working on the slot right now (it must not be reused yet). */
  isInFlight(pair: BufferPair): boolean {
    return this.inFlight.has(pair.slot);
  }

  /** Sends a job to the least busy worker. */
  submit(job: Omit<ChunkJob, 'id'> | Omit<WriteJob, 'id'>): Promise<ChunkResult> {
    if (!this.configured) return Promise.reject(new Error('ChunkPool.submit: not configured'));
    this.inFlight.add(job.slot);
    return this.threads.run(job).finally(() => this.inFlight.delete(job.slot));
  }

  close(): Promise<void> {
    return this.threads.close();
  }
}
