// Worker threads running one script, with jobs matched to results by id and sent to the least
// busy worker. A worker that fails or exits fails every job waiting on the pool, and every later
// one: the caller stops instead of waiting forever. Used by send (chunk-pool.ts) and by the
// restore stream (decode-pool.ts), which add their shared-memory slots on top.

import { Worker } from 'node:worker_threads';
import { messageOf } from '../../../protocol/thrown.js';
import { WorkerDiedError } from '../../errors.js';
import { itemAt } from '../../lookup.js';

export class ThreadPool<Job extends { id: number }, Result extends { id: number }> {
  private readonly workers: Worker[] = [];
  private readonly busy: number[] = [];
  private readonly pending = new Map<number, { worker: number; resolve: (r: Result) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failure: Error | null = null;
  private closed = false;

  /** Starts `count` workers running `script` (they load their modules meanwhile). */
  constructor(script: URL, count: number, what: string) {
    for (let i = 0; i < Math.max(1, count); i++) {
      const worker = new Worker(script);
      worker.on('message', (result: Result) => this.settle(result));
      // Typed, so the run ends with one line (exit 1), not as an internal error with a stack.
      worker.on('error', (error) => this.fail(new WorkerDiedError(`A ${what} worker thread failed: ${messageOf(error)}`)));
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(new WorkerDiedError(`A ${what} worker thread exited unexpectedly (code ${code}); the run was stopped`));
      });
      this.workers.push(worker);
      this.busy.push(0);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Sends the same message to every worker (their set-up), before any job. */
  broadcast(message: unknown): void {
    for (const worker of this.workers) worker.postMessage(message);
  }

  /** Runs one job on the least busy worker. */
  run(job: Omit<Job, 'id'>): Promise<Result> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    let worker = 0;
    for (let i = 1; i < this.workers.length; i++) if (itemAt(this.busy, i) < itemAt(this.busy, worker)) worker = i;
    this.busy[worker] = itemAt(this.busy, worker) + 1;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { worker, resolve, reject });
      itemAt(this.workers, worker).postMessage({ ...job, id });
    });
  }

  private settle(result: Result): void {
    const entry = this.pending.get(result.id);
    if (!entry) return;
    this.pending.delete(result.id);
    this.busy[entry.worker] = itemAt(this.busy, entry.worker) - 1;
    entry.resolve(result);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.fail(new Error('the worker threads were stopped'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
