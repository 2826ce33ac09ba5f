// Runs the CLI inside the test process: runCli with captured streams, for scenario tests where
// a subprocess adds nothing but a Node start-up (a fifth of a second of CPU per run, which a
// file of a hundred runs pays a hundred times). Not for what only a process shows: its exit
// status as the shell sees it, signals, a terminal, stdin (a passphrase is read from fd 0 of the
// process itself, so a run that pipes one must be a subprocess: runSkiff; --passcmd works here),
// module-load-time settings (SKIFF_TEST_READ_DELAY_MS), a heap limit of its own, or a process
// killed part-way. Processes the CLI starts (ssh, qvm-run, the destination helper, the key agent)
// are real children either way.

import { tmpdir } from 'node:os';
import { PassThrough, Writable } from 'node:stream';
import { runCli } from '../../source-agent/cli/run.js';
import { type CliResult, hermetic, kdfMemoEnv } from './cli.js';

// Dates are read and printed in local time, which in a subprocess run is TZ=UTC (cli.ts); in
// this process it must be the same, and a test compares what it computes with what is printed.
process.env['TZ'] = 'UTC';

/** Collects what is written, as bytes. */
function capture(): { stream: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return { stream, bytes: () => Buffer.concat(chunks) };
}

/**
 * Parts of the CLI read process.env (the carrier's PATH and HOME, SKIFF_DEST_TIMEOUT,
 * XDG_RUNTIME_DIR, the test-only scrypt memo), so a run's environment is this process's for the
 * run's duration. Runs are therefore one at a time: the next waits for the one before.
 */
let previousRun: Promise<unknown> = Promise.resolve();

function swapEnvironment(env: NodeJS.ProcessEnv): () => void {
  const saved = { ...process.env };
  for (const key of Object.keys(process.env)) if (!(key in env)) delete process.env[key];
  for (const [key, value] of Object.entries(env)) if (value !== undefined) process.env[key] = value;
  return () => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  };
}

/**
 * Like runSkiff, in this process: the same arguments (hermetic), the same environment (by
 * default this process's with TZ=UTC and the scrypt memo, as runSkiff gives a subprocess), the
 * exit code runCli returns, which main.ts makes the process's exit status.
 */
export async function runSkiffInProcess(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; fixtureKeys?: boolean } = {},
): Promise<CliResult> {
  const run = previousRun.then(() => runNow(args, options));
  previousRun = run.catch(() => {});
  return run;
}

async function runNow(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; fixtureKeys?: boolean },
): Promise<CliResult> {
  // options.env is laid over this process's environment (callers pass only what they change, or all of it).
  const base: NodeJS.ProcessEnv = { TZ: 'UTC', ...process.env, ...options.env };
  const env: NodeJS.ProcessEnv = 'SKIFF_TEST_KDF_MEMO' in base ? base : { ...base, ...kdfMemoEnv(options.fixtureKeys) };
  const stdin = new PassThrough();
  stdin.end();
  const stdout = capture();
  const stderr = capture();
  const restore = swapEnvironment(env);
  try {
    const code = await runCli(hermetic(args), {
      stdin,
      stdout: stdout.stream,
      stderr: stderr.stream,
      env,
      colorDepth: 1,
      cwd: options.cwd ?? tmpdir(),
      signal: new AbortController().signal,
      now: () => Date.now() / 1000,
    });
    const out = stdout.bytes();
    const err = stderr.bytes();
    return { code, stdout: out.toString(), stderr: err.toString(), bytes: Buffer.concat([out, err]) };
  } finally {
    restore();
  }
}
