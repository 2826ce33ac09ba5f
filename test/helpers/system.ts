// Real-system test support: loop devices (and later file systems and sshd), always cleaned up.
// These tests need root. Locally they skip with a reason when run as another user; under CI
// (SKIFF_REQUIRE_SYSTEM_TESTS=1, set by .ci/run) a missing requirement fails the run instead.

import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import type { TestContext } from 'node:test';

export const SYSTEM_TESTS_REQUIRED = process.env['SKIFF_REQUIRE_SYSTEM_TESTS'] === '1';

function missing(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
}

/** Returns false (after marking the test skipped) when the test cannot run here. */
export function requireSystem(t: TestContext, tools: readonly string[]): boolean {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('not running as root');
  for (const tool of tools) if (missing(tool)) problems.push(`${tool} not found`);
  if (problems.length === 0) return true;
  if (SYSTEM_TESTS_REQUIRED) throw new Error(`system test cannot run: ${problems.join(', ')}`);
  t.skip(problems.join(', '));
  return false;
}

/** Like requireSystem, for a tool alone (no root needed): false (test skipped) when it is missing. */
export function requireTool(t: TestContext, tool: string): boolean {
  if (!missing(tool)) return true;
  if (SYSTEM_TESTS_REQUIRED) throw new Error(`system test cannot run: ${tool} not found`);
  t.skip(`${tool} not found`);
  return false;
}

/** Attaches a file as a loop device; returns its path and a detach function. */
export function attachLoop(file: string): { device: string; detach: () => void } {
  const device = execFileSync('losetup', ['--show', '-f', file], { encoding: 'utf8' }).trim();
  return { device, detach: () => execFileSync('losetup', ['-d', device]) };
}

/** The first `length` bytes of a device (or file), as a restore left them. */
export function readDevice(path: string, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buffer, 0, length, 0);
  } finally {
    closeSync(fd);
  }
  return buffer;
}
