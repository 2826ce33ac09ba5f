// The restore stream's decode workers (one per core) and their slots: one SharedArrayBuffer of
// (chunk file, decompressed chunk) pairs, so that reading, decoding and writing out take turns on
// the same memory and nothing is copied or transferred between threads. The caller owns the
// slots' order (restore-stream.ts keeps them in a ring); the pool only runs jobs on them.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { CompressionName } from '../archive/compression/index.js';
import type { DecodeJob, DecodeResult, DecodeSetup } from './decode-job.js';

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
  private readonly workers: Worker[] = [];
  private readonly busy: number[] = [];
  private readonly pending = new Map<number, { worker: number; resolve: (r: DecodeResult) => void; reject: (e: Error) => void }>();
  private readonly memory: SharedArrayBuffer;
  private nextId = 0;
  private failure: Error | null = null;
  private closed = false;

  constructor(
    private readonly settings: DecodeSettings,
    readonly slotCount: number,
    workers = availableParallelism(),
  ) {
    this.memory = new SharedArrayBuffer(slotCount * (settings.fileBytes + settings.chunkBytes));
    const setup: DecodeSetup = {
      compression: settings.compression,
      level: settings.level,
      dataKey: settings.dataKey,
      manifestHashKey: settings.manifestHashKey,
      slots: this.memory,
      fileBytes: settings.fileBytes,
      chunkBytes: settings.chunkBytes,
    };
    for (let i = 0; i < Math.max(1, workers); i++) {
      const worker = new Worker(new URL('./decode-worker.js', import.meta.url));
      worker.on('message', (result: DecodeResult) => this.settle(result));
      worker.on('error', (error) => this.fail(error));
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`decode worker exited with code ${code}`));
      });
      worker.postMessage(setup);
      this.workers.push(worker);
      this.busy.push(0);
    }
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
  decode(job: Omit<DecodeJob, 'id'>): Promise<DecodeResult> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    let worker = 0;
    for (let i = 1; i < this.workers.length; i++) if ((this.busy[i] as number) < (this.busy[worker] as number)) worker = i;
    this.busy[worker] = (this.busy[worker] as number) + 1;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { worker, resolve, reject });
      (this.workers[worker] as Worker).postMessage({ ...job, id } satisfies DecodeJob);
    });
  }

  private settle(result: DecodeResult): void {
    const entry = this.pending.get(result.id);
    if (!entry) return;
    this.pending.delete(result.id);
    this.busy[entry.worker] = (this.busy[entry.worker] as number) - 1;
    entry.resolve(result);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.fail(new Error('the decode workers were stopped'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
