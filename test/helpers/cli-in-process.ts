// Runs the CLI inside the test process: runCli with captured streams, for scenario tests where
// a subprocess adds nothing but a Node start-up (help screens, parse errors). Not for what only
// a process shows: its exit status or signals, a terminal, stdin (a passphrase is read from
// fd 0 of the process itself, so a run that asks for one must be a subprocess: runSkiff), an
// environment of its own (parts of the CLI read process.env), or the destination helper.

import { tmpdir } from 'node:os';
import { PassThrough, Writable } from 'node:stream';
import { runCli } from '../../source-agent/cli/run.js';
import { type CliResult, hermetic } from './cli.js';

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

/** Like runSkiff, in this process: the same arguments (hermetic), the exit code runCli returns. */
export async function runSkiffInProcess(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  const stdin = new PassThrough();
  stdin.end();
  const stdout = capture();
  const stderr = capture();
  const code = await runCli(hermetic(args), {
    stdin,
    stdout: stdout.stream,
    stderr: stderr.stream,
    // The command's own environment (tools it runs find their PATH there), not this process's.
    env: { ...process.env, ...options.env, TZ: 'UTC' },
    colorDepth: 1,
    cwd: options.cwd ?? tmpdir(),
    signal: new AbortController().signal,
    now: () => Date.now() / 1000,
  });
  const out = stdout.bytes();
  const err = stderr.bytes();
  return { code, stdout: out.toString(), stderr: err.toString(), bytes: Buffer.concat([out, err]) };
}
