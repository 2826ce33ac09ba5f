// The send pipeline's worker pool: one worker thread per core, and a fixed set of output slots
// (about 32 MiB, one SharedArrayBuffer) that hold chunk files on their way to the main thread
// when the workers do not write them themselves. The workers read the source themselves into
// buffers of their own, so memory in flight does not grow with the volume, and no chunk buffer
// is allocated, copied or transferred between threads.

import { availableParallelism } from 'node:os';
import type { Archive } from '../../archive/archive.js';
import { maxChunkFileBytes } from '../../archive/chunk-file.js';
import type { ChunkBatch, SetupMessage, WorkerReply, WorkerSetup, WriteJob } from './chunk-job.js';
import { readAheadPerWorker } from './source-reader.js';
import { ThreadPool } from './thread-pool.js';

/** One output slot: its number, and the chunk file's bytes (a view on shared memory). */
export interface OutputSlot {
  slot: number;
  output: Uint8Array;
}

/** Memory for chunk files in flight to the main thread. */
const SLOT_BUDGET_BYTES = 32 * 1024 * 1024;

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
  private readonly threads: ThreadPool<ChunkBatch | WriteJob, WorkerReply>;
  private readonly freeSlots: OutputSlot[] = [];
  private readonly waiting: (() => void)[] = [];
  private configured = false;
  private slotTotal = 0;
  /** A job was failed by the pool itself (a worker died): other workers may still be running theirs. */
  private brokenBy: Error | null = null;

  /**
   * Starts the workers now; they load their modules while the caller prepares the volumes (send
   * starts them once the archive is open: not during a key derivation, whose 512 MiB they would
   * add to). Nothing runs on them until `configure` gives them the archive's settings.
   */
  constructor(options: { workers?: number } = {}) {
    this.threads = new ThreadPool(new URL('./chunk-worker.js', import.meta.url), options.workers ?? availableParallelism(), 'send');
  }

  /** The number of worker threads. */
  get workers(): number {
    return this.threads.size;
  }

  /** The number of output slots. */
  get slotCount(): number {
    return this.slotTotal;
  }

  /** Whether a worker died: jobs were failed while others may still be running. */
  get broken(): boolean {
    return this.brokenBy !== null;
  }

  /** Gives the workers the archive's settings and the shared output slots. */
  configure(settings: WorkerSetup): void {
    if (this.configured) throw new Error('ChunkPool.configure: already configured');
    this.configured = true;
    const outputBytes = maxChunkFileBytes(settings.chunkSize) + 64;
    const count = Math.max(4 * this.threads.size, Math.floor(SLOT_BUDGET_BYTES / outputBytes));
    // Pages are touched only when used: a send that never hands chunk files back costs nothing here.
    const slots = new SharedArrayBuffer(count * outputBytes);
    this.threads.broadcast({ settings, slots, outputBytes, readAheadBytes: readAheadPerWorker(this.threads.size) } satisfies SetupMessage);
    this.slotTotal = count;
    for (let slot = count - 1; slot >= 0; slot--)
      this.freeSlots.push({ slot, output: new Uint8Array(slots, slot * outputBytes, outputBytes) });
  }

  /** Waits for a free output slot (this is what bounds the chunk files in flight). */
  async acquire(): Promise<OutputSlot> {
    for (;;) {
      const slot = this.freeSlots.pop();
      if (slot) return slot;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  release(slot: OutputSlot): void {
    this.freeSlots.push(slot);
    this.waiting.shift()?.();
  }

  /** Sends a batch of chunks to the least busy worker. */
  runBatch(job: Omit<ChunkBatch, 'id'>): Promise<WorkerReply> {
    return this.submit(job);
  }

  /** Sends the write of a chunk file left in an output slot to the least busy worker. */
  write(job: Omit<WriteJob, 'id'>): Promise<WorkerReply> {
    return this.submit(job);
  }

  /**
   * After a worker died: ends every worker, so that none still reads or writes through a
   * descriptor the caller is about to close (its number could be reused by another file).
   */
  async stopWorkers(): Promise<void> {
    await this.threads.close();
  }

  close(): Promise<void> {
    return this.threads.close();
  }

  private submit(job: Omit<ChunkBatch, 'id'> | Omit<WriteJob, 'id'>): Promise<WorkerReply> {
    if (!this.configured) return Promise.reject(new Error('ChunkPool: not configured'));
    const running = this.threads.run(job);
    // The thread pool fails a job only when a worker failed or the pool was closed.
    running.catch((error: unknown) => {
      this.brokenBy ??= error instanceof Error ? error : new Error(String(error));
    });
    return running;
  }
}
