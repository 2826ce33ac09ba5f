// Makes new chunk files durable without a sync per write on the request path. Each finished
// "new" file joins a batch; a full batch is synced in the background (fdatasync through a fresh
// read-only descriptor, several at once), overlapping the transfer of later chunks; `flush`
// waits for the batches and syncs the rest. The first failure is kept and reported by flush, so
// a session whose chunks did not reach the disk is never committed. Memory: one batch of paths.
// The paths are archive paths; `sync` (from Operations) reaches each one confined, when it runs.

import { asError } from '../protocol/thrown.js';

const BATCH_FILES = 128;
const PARALLEL_SYNCS = 16;

export class FileSyncer {
  private batch: string[] = [];
  private readonly running = new Set<Promise<void>>();
  private failure: Error | null = null;

  constructor(private readonly sync: (path: string) => Promise<void>) {}

  add(path: string): void {
    this.batch.push(path);
    if (this.batch.length >= BATCH_FILES) this.start();
  }

  /** Waits until every file added so far is durable; throws the first sync failure. */
  async flush(): Promise<void> {
    this.start();
    while (this.running.size > 0) await Promise.all([...this.running]);
    const failure = this.failure;
    this.failure = null;
    if (failure) throw failure;
  }

  private start(): void {
    if (this.batch.length === 0) return;
    const paths = this.batch;
    this.batch = [];
    const run = syncAll(paths, this.sync).catch((error: unknown) => {
      this.failure ??= asError(error);
    });
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }
}

async function syncAll(paths: readonly string[], sync: (path: string) => Promise<void>): Promise<void> {
  // One iterator shared by the workers: each takes the next path when it is free.
  const queue = paths.values();
  const worker = async () => {
    for (let item = queue.next(); !item.done; item = queue.next()) await sync(item.value);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_SYNCS, paths.length) }, worker));
}
