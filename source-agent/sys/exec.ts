// The one place that starts processes (the lint checks it: biome.json forbids node:child_process
// elsewhere). Failures carry what is needed to explain them; what a
// process wrote to stderr is shown inert (protocol/inert-text.ts): a destination's ssh or
// helper must not reach our terminal through it.

import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { inert } from '../../protocol/inert-text.js';
import { itemAt } from '../lookup.js';

export class ExternalCommandError extends Error {
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderrTail: string;
  constructor(argv: readonly string[], exitCode: number | null, signal: NodeJS.Signals | null, stderrTail: string) {
    const how = signal ? `was killed by ${signal}` : `exited with code ${exitCode}`;
    super(`${argv.join(' ')} ${how}${stderrTail ? `: ${inert(stderrTail.trim().split('\n').at(-1) ?? '')}` : ''}`);
    this.argv = argv;
    this.exitCode = exitCode;
    this.signal = signal;
    this.stderrTail = stderrTail;
  }

  /** The last line of stderr that says something (dmsetup ends with a bare "Command failed."), inert; "" if none. */
  said(): string {
    const line = this.stderrTail
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !/^Command failed\.?$/.test(l))
      .at(-1);
    return line === undefined ? '' : inert(line);
  }
}

export interface ExecResult {
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs argv[0] with arguments (no shell unless argv asks for one), with stdin closed, and
 * collects at most `maxOutput` bytes of stdout. Rejects with ExternalCommandError on a non-zero
 * exit, a signal, too much output, or (with `deadlineMs`) running longer than that: the process is
 * then killed (SIGKILL), so a hung tool is a clear error, not a wait for ever.
 */
export function execFileCapture(
  argv: readonly string[],
  options: { maxOutput?: number; env?: NodeJS.ProcessEnv; deadlineMs?: number } = {},
): Promise<ExecResult> {
  const maxOutput = options.maxOutput ?? 1024 * 1024;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(itemAt(argv, 0), argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
    let timedOut = false;
    const timer =
      options.deadlineMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, options.deadlineMs);
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > maxOutput) child.kill('SIGKILL');
      else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString('utf8')).slice(-4096);
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new ExternalCommandError(argv, null, null, error.message));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) reject(new ExternalCommandError(argv, null, null, `no result within ${(options.deadlineMs ?? 0) / 1000} s`));
      else if (outBytes > maxOutput) reject(new ExternalCommandError(argv, code, signal, `more than ${maxOutput} bytes of output`));
      else if (code === 0) resolvePromise({ stdout: Buffer.concat(out), stderr: err });
      else reject(new ExternalCommandError(argv, code, signal, err));
    });
  });
}

export interface PipedProcess {
  readonly stdin: import('node:stream').Writable;
  readonly stdout: import('node:stream').Readable;
  /** The last few KiB of stderr, inert but for its line breaks. */
  stderrTail(): string;
  /** Resolves once the process has exited and its output is closed: "exit code N" or "killed by SIG". */
  readonly closed: Promise<string>;
  kill(): void;
}

/** Starts a long-running process with piped stdin/stdout (a destination helper and its carrier). */
export function spawnPiped(argv: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): PipedProcess {
  const child = spawn(itemAt(argv, 0), argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => {
    err = (err + chunk.toString('utf8')).slice(-2048);
  });
  const closed = new Promise<string>((resolve) => {
    child.on('error', (error) => resolve(`could not start ${argv[0]}: ${error.message}`));
    child.on('close', (code, signal) => resolve(signal ? `killed by ${signal}` : `exit code ${code}`));
  });
  return {
    stdin: child.stdin,
    stdout: child.stdout,
    // Control characters from the remote side are not passed to our terminal; made inert
    // when read, so that a character cut by the slice above is escaped too.
    stderrTail: () => inert(err, '\n'),
    closed,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/**
 * Starts a process that outlives us (the key agent): detached, output ignored, `secret` written
 * to its stdin and then zeroed, so the only copy left is the child's.
 */
export function spawnDetachedWithSecret(argv: readonly string[], secret: Buffer): void {
  const child = spawn(argv[0] as string, argv.slice(1), { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  child.stdin.end(secret, () => secret.fill(0));
  child.unref();
}

/** `name` as found on `env.PATH` (an executable file), or null; a name with a `/` is taken as given. */
export async function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const candidates = name.includes('/') ? [name] : (env['PATH'] ?? '').split(':').map((dir) => `${dir || '.'}/${name}`);
  for (const path of candidates) {
    const ok = await access(path, constants.X_OK).then(
      async () => (await stat(path)).isFile(),
      () => false,
    );
    if (ok) return path;
  }
  return null;
}

export interface StreamOptions {
  env?: NodeJS.ProcessEnv;
  /** Each piece of stdout as it arrives; a throw kills the process and rejects with that error. */
  onStdout: (chunk: Buffer) => void;
  /** Killed (SIGKILL) and rejected when it runs longer than this. */
  deadlineMs?: number;
  /** Killed and rejected with the signal's reason when this aborts. */
  signal?: AbortSignal;
}

/**
 * Runs argv[0] with stdin closed and hands its stdout to `onStdout` as it comes (a tool whose
 * output can be large and is parsed on the fly: thin_delta). Resolves with the stderr tail on exit
 * 0; rejects with ExternalCommandError on a non-zero exit, a signal or the deadline, with the
 * consumer's error when onStdout throws, and with `signal.reason` when aborted. The process is
 * always dead when the promise settles.
 */
export function execFileStreaming(argv: readonly string[], options: StreamOptions): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    if (options.signal?.aborted) {
      reject(options.signal.reason);
      return;
    }
    const child = spawn(itemAt(argv, 0), argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
    let err = '';
    let failure: { error: unknown } | null = null;
    const fail = (error: unknown) => {
      failure ??= { error };
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const timer =
      options.deadlineMs === undefined
        ? undefined
        : setTimeout(
            () => fail(new ExternalCommandError(argv, null, null, `no result within ${Math.round(options.deadlineMs ?? 0) / 1000} s`)),
            options.deadlineMs,
          );
    const onAbort = () => fail(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      if (failure) return;
      try {
        options.onStdout(chunk);
      } catch (error) {
        fail(error);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString('utf8')).slice(-4096);
    });
    child.on('error', (error) => fail(new ExternalCommandError(argv, null, null, error.message)));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (failure) reject(failure.error);
      else if (code === 0) resolvePromise(err);
      else reject(new ExternalCommandError(argv, code, signal, err));
    });
  });
}
