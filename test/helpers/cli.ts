// Runs the built skiff CLI as a subprocess, the way users and wrapper scripts do.

import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WYNG_SCRYPT } from '../../source-agent/archive/crypto/kdf.js';
import { rememberDerivation, TEST_SALTS_FILE } from '../../source-agent/archive/crypto/kdf-memo.js';
import { parseSaltFile } from '../../source-agent/archive/salt.js';
import { CLI, fixtureArchive, WYNG_FIXTURES } from './paths.js';
import { TEST_PASSPHRASE_KEYS, TEST_SCRYPT_SALTS } from './test-kdf-keys.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout's bytes, then stderr's, exactly as written (for what reaches a terminal). */
  bytes: Buffer;
}

// Tests never touch /var/lib/skiff or leave key agents behind: unless a test says otherwise,
// every run gets this process's own metadata directory and --authmin=0.
let defaultMetaDir: string | null = null;
export function hermetic(args: readonly string[]): string[] {
  const extra: string[] = [];
  if (!args.some((a) => a.startsWith('--meta-dir'))) {
    if (!defaultMetaDir) {
      const dir = mkdtempSync(join(tmpdir(), 'skiff-test-meta-'));
      defaultMetaDir = dir;
      process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    }
    extra.push(`--meta-dir=${defaultMetaDir}`);
  }
  if (!args.some((a) => a.startsWith('--authmin'))) extra.push('--authmin=0');
  return [...args, ...extra];
}

// Wyng's scrypt costs seconds per call and every encrypted run pays it twice: runs share a memo
// of results already computed (source-agent/archive/crypto/kdf-memo.ts, test-only), entered
// beforehand with the Wyng fixtures' known keys (paths.ts) unless a test asks for derivations
// from the fixtures themselves. The keys are the real ones, so archives, Wyng fixtures and
// wrong-passphrase refusals are as without it. The memo also gives the archives that runs create
// two fixed scrypt salts, with the keys of the tests' passphrases entered beforehand
// (test-kdf-keys.ts), so that a new encrypted archive costs no scrypt either. A test opts out by
// giving SKIFF_TEST_KDF_MEMO in its env (empty: none).
const kdfMemoDirs = new Map<boolean, string>();
function kdfMemoDir(withFixtureKeys: boolean): string {
  let dir = kdfMemoDirs.get(withFixtureKeys);
  if (dir) return dir;
  const created = mkdtempSync(join(tmpdir(), 'skiff-test-kdf-'));
  process.on('exit', () => rmSync(created, { recursive: true, force: true }));
  writeFileSync(join(created, TEST_SALTS_FILE), Buffer.concat(TEST_SCRYPT_SALTS), { mode: 0o600 });
  for (const [passphrase, dataKey, metadataKey] of TEST_PASSPHRASE_KEYS) {
    rememberDerivation(created, WYNG_SCRYPT, Buffer.from(passphrase), TEST_SCRYPT_SALTS[0], Buffer.from(dataKey, 'hex'));
    rememberDerivation(created, WYNG_SCRYPT, Buffer.from(passphrase), TEST_SCRYPT_SALTS[1], Buffer.from(metadataKey, 'hex'));
  }
  if (withFixtureKeys) {
    for (const fixture of WYNG_FIXTURES) {
      if (!fixture.passphrase || !fixture.rootKeys) continue;
      const salt = parseSaltFile(readFileSync(join(fixtureArchive(fixture.dir), 'archive.salt')));
      const passphrase = Buffer.from(fixture.passphrase);
      rememberDerivation(created, WYNG_SCRYPT, passphrase, salt.salts[0], Buffer.from(fixture.rootKeys.dataKey, 'hex'));
      rememberDerivation(created, WYNG_SCRYPT, passphrase, salt.salts[1], Buffer.from(fixture.rootKeys.metadataKey, 'hex'));
    }
  }
  dir = created;
  kdfMemoDirs.set(withFixtureKeys, dir);
  return dir;
}
/** The variables that give a CLI run the memo (for runs started without runSkiff: terminals). */
export function kdfMemoEnv(withFixtureKeys = true): { SKIFF_TEST: string; SKIFF_TEST_KDF_MEMO: string } {
  return { SKIFF_TEST: '1', SKIFF_TEST_KDF_MEMO: kdfMemoDir(withFixtureKeys) };
}
/**
 * Gives this process's own key derivations the memo and its fixed salts: for engine-level tests
 * that make encrypted archives in the test process and are not about the key derivation.
 */
export function useKdfMemoHere(): void {
  if (!('SKIFF_TEST_KDF_MEMO' in process.env)) Object.assign(process.env, kdfMemoEnv());
}
function withKdfMemo(env: NodeJS.ProcessEnv, withFixtureKeys = true): NodeJS.ProcessEnv {
  if ('SKIFF_TEST_KDF_MEMO' in env) return env;
  return { ...env, ...kdfMemoEnv(withFixtureKeys) };
}

export function runSkiff(
  args: readonly string[],
  options: {
    input?: string;
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    killAfterMs?: number;
    /** false: the run derives the Wyng fixtures' keys itself (memoized) rather than knowing them. */
    fixtureKeys?: boolean;
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...hermetic(args)], {
      cwd: options.cwd ?? tmpdir(),
      env: withKdfMemo(options.env ?? { ...process.env, TZ: 'UTC' }, options.fixtureKeys),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // Decoded at the end: a character split between two reads is not mangled.
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => stdout.push(d));
    child.stderr.on('data', (d: Buffer) => stderr.push(d));
    // A run that hangs (the bug some tests guard against) is killed, so the test fails, not hangs.
    const killer = options.killAfterMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (killer) clearTimeout(killer);
      const out = Buffer.concat(stdout);
      const err = Buffer.concat(stderr);
      resolve({ code: code ?? (signal ? 128 : -1), stdout: out.toString(), stderr: err.toString(), bytes: Buffer.concat([out, err]) });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Non-empty stderr lines, without the passphrase prompt. */
export function errorLines(result: CliResult): string[] {
  return result.stderr
    .split('\n')
    .map((line) => line.replace(/^Enter passphrase: /, ''))
    .filter((line) => line.trim() !== '');
}

/** A scratch directory removed by the returned cleanup function. */
export function scratchDir(prefix = 'skiff-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A private copy of a fixture archive (tests that damage archives work on copies). */
export function copyFixture(name: string, into: string): string {
  const target = join(into, name);
  cpSync(fixtureArchive(name), target, { recursive: true });
  return target;
}

export interface RunningSkiff {
  child: ChildProcess;
  /** Everything written so far. */
  output(): { stdout: string; stderr: string };
  /** The exit: a code, or the signal that ended the process. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** Starts the CLI without waiting for it (tests that signal a run in progress). */
export function startSkiff(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): RunningSkiff {
  const child = spawn(process.execPath, [CLI, ...hermetic(args)], {
    cwd: options.cwd ?? tmpdir(),
    env: withKdfMemo(options.env ?? { ...process.env, TZ: 'UTC' }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdin?.end('');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, output: () => ({ stdout, stderr }), exited };
}

/**
 * A receive (`args`) slowed to `readDelayMs` a chunk (test-only SKIFF_TEST_READ_DELAY_MS), sent
 * SIGINT `afterMs` after it printed "Saving to": interrupted while it writes the target. The
 * caller checks how it ended.
 */
export async function interruptWhileSaving(
  args: readonly string[],
  readDelayMs: number,
  afterMs: number,
): Promise<Awaited<RunningSkiff['exited']>> {
  const run = startSkiff(args, { env: { ...process.env, TZ: 'UTC', SKIFF_TEST_READ_DELAY_MS: String(readDelayMs) } });
  for (let i = 0; i < 600 && !/Saving to/.test(run.output().stdout); i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, afterMs));
  run.child.kill('SIGINT');
  return run.exited;
}
