// Runs the built skiff CLI as a subprocess, the way users and wrapper scripts do.

import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, fixtureArchive } from './paths.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

// Tests never touch /var/lib/skiff or leave key agents behind: unless a test says otherwise,
// every run gets this process's own metadata directory and --authmin=0.
let defaultMetaDir: string | null = null;
function hermetic(args: readonly string[]): string[] {
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

export function runSkiff(
  args: readonly string[],
  options: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv; killAfterMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...hermetic(args)], {
      cwd: options.cwd ?? tmpdir(),
      env: options.env ?? { ...process.env, TZ: 'UTC' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    // A run that hangs (the bug some tests guard against) is killed, so the test fails, not hangs.
    const killer = options.killAfterMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (killer) clearTimeout(killer);
      resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr });
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
