// How an executable of this package (skiff, skiff-qubes) runs as a process: arguments, streams,
// the clock, signals and the exit code around one `run(argv, context)`. One SIGINT/SIGTERM is
// enough (sys/interrupt.ts): the command unwinds, or after a short deadline the registered
// cleanups run and the process ends anyway; a second one ends it at once. skiff-qubes runs skiff
// commands in-process, so it needs exactly the same guarantees.

import { ExitCode, InterruptedError } from '../errors.js';
import { CLEANUP_DEADLINE_MS, endProcess, runInterruptCleanups, UNWIND_DEADLINE_MS } from '../sys/interrupt.js';
import type { SkiffContext } from './context.js';

export async function runAsProcess(
  run: (argv: readonly string[], context: SkiffContext & { env: NodeJS.ProcessEnv }) => Promise<number>,
): Promise<void> {
  const controller = new AbortController();
  let interrupted: NodeJS.Signals | null = null;
  let ending = false;

  /** The command did not unwind in time, or a second signal came: clean up what is registered, end. */
  const endInterrupted = async (signal: NodeJS.Signals, cleanupMs: number): Promise<void> => {
    if (ending) return;
    ending = true;
    // Should the command finish meanwhile and the process run out of work before endProcess,
    // it still ends as interrupted: "*** Interrupt." is never followed by a success status.
    process.exitCode = ExitCode.interrupted;
    process.stderr.write('\n*** Interrupt.\n');
    await runInterruptCleanups(cleanupMs);
    await endProcess(ExitCode.interrupted, signal);
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      // A second interrupt does not wait for the command; the cleanups get a moment.
      void endInterrupted(signal, 500);
      return;
    }
    interrupted = signal;
    controller.abort(new InterruptedError());
    setTimeout(() => void endInterrupted(signal, CLEANUP_DEADLINE_MS), UNWIND_DEADLINE_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const code = await run(process.argv.slice(2), {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    colorDepth: 1,
    cwd: process.cwd(),
    signal: controller.signal,
    now: () => Date.now() / 1000,
  });
  if (interrupted && !ending) {
    // Unwound in order; exit now rather than wait for anything still pending (a stuck open()).
    ending = true;
    await endProcess(code, interrupted);
  }
  // Once the interrupt's own ending has begun, it sets the status.
  if (!ending) process.exitCode = code;
}
