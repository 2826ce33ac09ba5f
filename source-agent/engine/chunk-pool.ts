// The send pipeline's worker pool: one worker thread per core, and a fixed set of slots (input
// chunk, output chunk file; about 32 MiB in all) in one SharedArrayBuffer that the reader, the
// workers and the writer take turns on, so memory in flight does not grow with the volume and
// no chunk buffer is allocated, copied or transferred between threads.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ChunkJob, ChunkResult, SetupMessage, WorkerSetup, WriteJob } from './chunk-job.js';

/** One slot: its number, the chunk's bytes, and the chunk file's bytes (views on shared memory). */
export interface BufferPair {
  slot: number;
  input: Uint8Array;
  output: Uint8Array;
}

export class ChunkPool {
  private readonly workers: Worker[] = [];
  private readonly busy: number[] = [];
  private readonly pending = new Map<number, { worker: number; resolve: (r: ChunkResult) => void; reject: (e: Error) => void }>();
  private readonly freePairs: BufferPair[] = [];
  private readonly waiting: (() => void)[] = [];
  /** Slots a worker is working on. */
  private readonly inFlight = new Set<number>();
  private configured = false;
  private nextId = 0;
  private failure: Error | null = null;

  /**
   * Starts the workers now; they load their modules while the caller opens the archive.
   * Nothing runs on them until `configure` gives them the archive's settings.
   */
  constructor(options: { workers?: number } = {}) {
    const count = Math.max(1, options.workers ?? availableParallelism());
    for (let i = 0; i < count; i++) {
      const worker = new Worker(new URL('./chunk-worker.js', import.meta.url));
      worker.on('message', (result: ChunkResult) => this.settle(result));
      worker.on('error', (error) => this.fail(error));
      worker.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`send worker exited with code ${code}`));
      });
      this.workers.push(worker);
      this.busy.push(0);
    }
  }

  /** Gives the workers the archive's settings and the shared slots. */
  configure(settings: WorkerSetup): void {
    if (this.configured) throw new Error('ChunkPool.configure: already configured');
    this.configured = true;
    const inputBytes = settings.chunkSize;
    const outputBytes = settings.chunkSize + Math.floor(settings.chunkSize / 64) + 64;
    const count = Math.max(4 * this.workers.length, Math.floor((32 * 1024 * 1024) / (inputBytes + outputBytes)));
    const slots = new SharedArrayBuffer(count * (inputBytes + outputBytes));
    for (const worker of this.workers) worker.postMessage({ settings, slots, inputBytes, outputBytes } satisfies SetupMessage);
    for (let slot = count - 1; slot >= 0; slot--) {
      const base = slot * (inputBytes + outputBytes);
      this.freePairs.push({
        slot,
        input: new Uint8Array(slots, base, inputBytes),
        output: new Uint8Array(slots, base + inputBytes, outputBytes),
      });
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
    this.inFlight.clear();
  }

  private settle(result: ChunkResult): void {
    const entry = this.pending.get(result.id);
    if (!entry) return;
    this.pending.delete(result.id);
    this.inFlight.delete(result.slot);
    this.busy[entry.worker] = (this.busy[entry.worker] as number) - 1;
    entry.resolve(result);
  }

  /** Waits for a free slot (this is what bounds the work in flight). */
  async acquire(): Promise<BufferPair> {
    while (this.freePairs.length === 0) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return this.freePairs.pop() as BufferPair;
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
    if (this.failure) return Promise.reject(this.failure);
    if (!this.configured) return Promise.reject(new Error('ChunkPool.submit: not configured'));
    const id = this.nextId++;
    let worker = 0;
    for (let i = 1; i < this.workers.length; i++) if ((this.busy[i] as number) < (this.busy[worker] as number)) worker = i;
    this.busy[worker] = (this.busy[worker] as number) + 1;
    this.inFlight.add(job.slot);
    const message: ChunkJob | WriteJob = { ...job, id };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { worker, resolve, reject });
      (this.workers[worker] as Worker).postMessage(message);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
