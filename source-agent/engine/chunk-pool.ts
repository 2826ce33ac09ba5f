// The send pipeline's worker pool: one worker thread per core, and a fixed set of buffer pairs
// (input chunk, output chunk file; about 32 MiB in all) that circulate between the reader, the
// workers and the writer, so memory in flight does not grow with the volume.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ChunkJob, ChunkResult, SetupMessage, WorkerSetup } from './chunk-job.js';

export interface BufferPair {
  input: ArrayBuffer;
  /** Allocated on first use: direct mode (workers write chunk files) never needs one. */
  output: ArrayBuffer | null;
}

export class ChunkPool {
  private readonly workers: Worker[] = [];
  private readonly busy: number[] = [];
  private readonly pending = new Map<number, { worker: number; resolve: (r: ChunkResult) => void; reject: (e: Error) => void }>();
  private readonly freePairs: BufferPair[] = [];
  private readonly waiting: (() => void)[] = [];
  private outputBytes = 0;
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

  /** Gives the workers the archive's settings and sizes the buffer pairs (about 32 MiB of them). */
  configure(settings: WorkerSetup): void {
    if (this.configured) throw new Error('ChunkPool.configure: already configured');
    this.configured = true;
    for (const worker of this.workers) worker.postMessage({ settings } satisfies SetupMessage);
    this.outputBytes = settings.chunkSize + Math.floor(settings.chunkSize / 64) + 64;
    const slots = Math.max(4 * this.workers.length, Math.floor((32 * 1024 * 1024) / (settings.chunkSize + this.outputBytes)));
    for (let i = 0; i < slots; i++) this.freePairs.push({ input: new ArrayBuffer(settings.chunkSize), output: null });
  }

  /** The pair's output buffer (buffers mode), allocated the first time it is needed. */
  outputOf(pair: BufferPair): ArrayBuffer {
    pair.output ??= new ArrayBuffer(this.outputBytes);
    return pair.output;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }

  private settle(result: ChunkResult): void {
    const entry = this.pending.get(result.id);
    if (!entry) return;
    this.pending.delete(result.id);
    this.busy[entry.worker] = (this.busy[entry.worker] as number) - 1;
    entry.resolve(result);
  }

  /** Buffers mode: waits for a free buffer pair (this is what bounds the work in flight). */
  async acquire(): Promise<BufferPair> {
    while (this.freePairs.length === 0) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return this.freePairs.pop() as BufferPair;
  }

  release(pair: BufferPair): void {
    this.freePairs.push(pair);
    this.waiting.shift()?.();
  }

  /** Whether a pair's buffers are with a worker (transferred away) right now. */
  isInFlight(pair: BufferPair): boolean {
    return pair.input.byteLength === 0;
  }

  /** Sends a job to the least busy worker; its buffers (if any) travel with it and come back. */
  submit(job: Omit<ChunkJob, 'id'>): Promise<ChunkResult> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.configured) return Promise.reject(new Error('ChunkPool.submit: not configured'));
    const id = this.nextId++;
    let worker = 0;
    for (let i = 1; i < this.workers.length; i++) if ((this.busy[i] as number) < (this.busy[worker] as number)) worker = i;
    this.busy[worker] = (this.busy[worker] as number) + 1;
    const message: ChunkJob = { ...job, id };
    const transfer = job.output ? [job.input, job.output] : [job.input];
    return new Promise((resolve, reject) => {
      this.pending.set(id, { worker, resolve, reject });
      (this.workers[worker] as Worker).postMessage(message, transfer);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
