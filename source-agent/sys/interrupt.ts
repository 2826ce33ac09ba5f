// What one SIGINT/SIGTERM does, so that one is always enough: the command is told through its
// AbortSignal and unwinds in order (locks released, temporaries removed, helpers stopped); if it
// has not finished by a short deadline — it waits on something that never answers: a silent
// helper, an open() of a FIFO, a hung network file system — the cleanups registered here run
// directly and the process ends anyway.
//
// Ending is harder than it looks: Node's process.exit() joins the libuv thread pool, so a pool
// thread stuck in a system call (an open() of a FIFO without a writer) makes exit() itself hang.
// When such work is still pending, the process ends by the signal it received instead (default
// action: exit status 128+N), which does not wait for threads; otherwise it exits with code 8.

type Cleanup = () => void | Promise<void>;

const cleanups = new Set<Cleanup>();

/** Registers a cleanup for an interrupted run that cannot unwind in time; returns its removal. */
export function onInterrupt(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}

/** How long an interrupted command may take to unwind by itself. */
export const UNWIND_DEADLINE_MS = 3000;
/** How long the registered cleanups may take after that. */
export const CLEANUP_DEADLINE_MS = 2000;

/** Runs every registered cleanup at once, for at most `deadlineMs`. */
export async function runInterruptCleanups(deadlineMs: number): Promise<void> {
  const pending = [...cleanups].map(async (cleanup) => {
    try {
      await cleanup();
    } catch {
      // best effort: the process is ending
    }
  });
  cleanups.clear();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, deadlineMs);
  });
  await Promise.race([Promise.all(pending), deadline]);
  clearTimeout(timer);
}

/**
 * Work queued on the libuv thread pool (file system calls, DNS, crypto and zlib jobs): while
 * any is pending, process.exit() waits for it.
 */
export function threadPoolBusy(): boolean {
  return process.getActiveResourcesInfo().some((name) => /^FSReq|InfoReqWrap$|Job$|Zlib/.test(name));
}

/** Ends the process now: with `code`, or by `signal` itself when exit() would wait for stuck work. */
export async function endProcess(code: number, signal: NodeJS.Signals): Promise<never> {
  // Work that finishes soon (a write, a key derivation) may finish; a stuck call will not.
  for (let waited = 0; threadPoolBusy() && waited < 500; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  if (threadPoolBusy()) {
    process.removeAllListeners(signal); // the default action: terminate, without joining threads
    process.kill(process.pid, signal);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    process.kill(process.pid, 'SIGKILL');
  }
  process.exit(code);
}
