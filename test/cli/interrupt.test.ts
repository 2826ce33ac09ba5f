// One SIGTERM ends a run whatever it waits for (a destination that stops answering, an open that
// never returns), removes the run's own temporary file, and a metadata directory that cannot be
// made fails promptly instead of looping. No timing is asserted: a run that does not end makes
// the test time out.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { errorLines, type RunningSkiff, runSkiff, scratchDir, startSkiff } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { installQvmRunStandIn } from '../helpers/qvm-run.js';
import { makeVolume } from '../helpers/volumes.js';

const HOSTILE = fileURLToPath(new URL('../helpers/hostile-helper.js', import.meta.url));
const scratch = scratchDir('skiff-interrupt-');
after(scratch.cleanup);

async function until(condition: () => boolean, run: RunningSkiff): Promise<void> {
  while (!condition()) {
    if (run.child.exitCode !== null) assert.fail(`skiff ended before the test could interrupt it: ${run.output().stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** An interrupted run exits 8, or ends by the signal itself when an OS call it made never returns. */
function assertInterrupted(result: { code: number | null; signal: NodeJS.Signals | null; stderr: string }): void {
  assert.ok(result.code === 8 || result.signal === 'SIGTERM', `exit ${result.code} / ${result.signal}: ${result.stderr}`);
}

async function archiveWithVolume(name: string): Promise<{ dir: string; common: string[] }> {
  const dir = join(scratch.dir, name);
  const source = join(scratch.dir, `${name}.img`);
  writeFileSync(source, makeVolume(name, 65536, 8, 1));
  const common = [`--dest=file:${dir}`];
  // Setting up needs no process of its own; the runs under test below are processes.
  assert.equal((await runSkiffInProcess(['arch-init', '--encrypt=off', '--chunk-factor=1', ...common])).code, 0);
  const sent = await runSkiffInProcess(['send', `--import-other-from=vol.img:|:${source}`, ...common]);
  assert.equal(sent.code, 0, sent.stderr);
  return { dir, common };
}

function chunkFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /^x[0-9a-f]{16}$/.test(entry.name)) found.push(join(entry.parentPath, entry.name));
  }
  return found;
}

describe('one SIGTERM is enough', { timeout: 120_000 }, () => {
  it('a destination helper that stops answering (no watchdog for 10 minutes)', async () => {
    const standIn = installQvmRunStandIn(scratch.dir);
    const run = startSkiff([`--dest=qubes://vm${scratch.dir}`, 'list'], {
      env: {
        ...process.env,
        TZ: 'UTC',
        PATH: `${standIn.bin}:${process.env['PATH']}`,
        QVM_SERVICE_HELPER: HOSTILE,
        HOSTILE_BEHAVIOR: 'silent',
        SKIFF_DEST_TIMEOUT: '600',
      },
    });
    await until(() => run.output().stdout.includes('Skiff'), run);
    await new Promise((resolve) => setTimeout(resolve, 500)); // into the unanswered request
    run.child.kill('SIGTERM');
    const result = await run.exited;
    assert.equal(result.code, 8, result.stderr);
  });

  it('a receive blocked on a chunk file that is a FIFO: ends, and leaves no temporary file', async () => {
    const { dir, common } = await archiveWithVolume('fifo-chunks');
    for (const chunk of chunkFiles(dir)) {
      rmSync(chunk);
      execFileSync('mkfifo', [chunk]);
    }
    const targetDir = join(scratch.dir, 'fifo-target');
    const run = startSkiff(['receive', 'vol.img', `--save-to=${join(targetDir, 'vol.img')}`, ...common]);
    const temporaries = () => {
      try {
        return readdirSync(targetDir).filter((name) => name.includes('.skiff-receive-'));
      } catch {
        return [];
      }
    };
    // Until the receive is waiting on a chunk (or it refused the FIFO by itself: LocalStore may check).
    await until(() => temporaries().length > 0, run).catch(() => {});
    run.child.kill('SIGTERM');
    const result = await run.exited;
    // Either the signal ended it, or it refused the FIFO by itself (before or just after the
    // signal was sent: the two race), never by blocking and never with exit 0.
    if (/not a regular file/.test(result.stderr)) assert.notEqual(result.code, 0, result.stderr);
    else assertInterrupted(result);
    assert.deepEqual(temporaries(), []);
  });
});

describe('a metadata directory that cannot be created', { timeout: 60_000 }, () => {
  it('--meta-dir=/proc/nope: a write command fails at once with exit 7, a read command warns', async () => {
    const { common } = await archiveWithVolume('proc-meta');
    const send = await runSkiff(['send', '-a', '--meta-dir=/proc/nope', ...common]);
    assert.equal(send.code, 7, send.stderr);
    assert.equal(errorLines(send).length, 1, send.stderr);
    assert.match(send.stderr, /^Cannot use metadata directory '\/proc\/nope': .*ENOENT.*'\/proc\/nope/m);
    const list = await runSkiff(['list', '--meta-dir=/proc/nope', ...common]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stderr, /Warning: Cannot use metadata directory '\/proc\/nope'/);
  });
});

describe('stale receive temporaries', { timeout: 60_000 }, () => {
  it('the next receive to the directory removes ours whose writer is gone, and nothing else', async () => {
    const { common } = await archiveWithVolume('stale');
    const targetDir = join(scratch.dir, 'stale-target');
    execFileSync('mkdir', ['-p', targetDir]);
    const old = new Date(Date.now() - 2 * 3600_000);
    const deadPid = 2 ** 22 + 17; // above pid_max's default: never a live process
    const make = (name: string, options: { old?: boolean; fifo?: boolean } = {}) => {
      const path = join(targetDir, name);
      if (options.fifo) execFileSync('mkfifo', [path]);
      else writeFileSync(path, 'partial');
      if (options.old ?? true) execFileSync('touch', ['-h', '-d', old.toISOString(), path]);
      return path;
    };
    const stale = [
      make(`.a.img.skiff-receive-${deadPid}-0123abcd`),
      make('.b.img.skiff-receive-89abcdef'), // an earlier version's name, without a pid
    ];
    const kept = [
      make(`.c.img.skiff-receive-${process.pid}-0123abcd`), // its writer is alive
      make(`.d.img.skiff-receive-${deadPid}-fedcba98`, { old: false }), // written just now
      make(`.e.img.skiff-receive-${deadPid}-0123abcd`, { fifo: true }), // not a regular file
      make(`.f.img.skiff-receive-${deadPid}-0123abcd.keep`), // not our exact name
      make(`f.img.skiff-receive-${deadPid}-0123abcd`),
      make('unrelated.img'),
    ];
    const foreign = make(`.g.img.skiff-receive-${deadPid}-0123abcd`); // someone else's
    execFileSync('chown', ['65534:65534', foreign]);
    kept.push(foreign);
    const r = await runSkiff(['receive', 'vol.img', `--save-to=${join(targetDir, 'vol.img')}`, ...common]);
    assert.equal(r.code, 0, r.stderr);
    for (const path of stale) assert.throws(() => statSync(path), /ENOENT/, `${path} removed`);
    for (const path of kept) assert.ok(statSync(path), `${path} kept`);
  });
});
