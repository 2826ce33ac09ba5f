// The key agent (--authmin) seen from the command line: it is found only in a directory and a
// socket of our own, keyed by the archive's identity rather than the URL's spelling; a given
// passphrase is checked even when the agent holds the keys; --authmin=-1 stops it whatever the
// command does next; and unlocking stays within 600 MiB of memory on a dom0-sized machine.
//
// Every run gets its own XDG_RUNTIME_DIR, so no real agent directory is touched; each test stops
// the agents it started (--authmin=-1) and, should that fail, ends them by their process id.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { deriveInParallel } from '../../source-agent/archive/keys.js';
import { type CliResult, copyFixture, errorLines, runSkiff, scratchDir } from '../helpers/cli.js';
import { CLI, WYNG_FIXTURES } from '../helpers/paths.js';

const scratch = scratchDir('skiff-agent-test-');
const fixture = WYNG_FIXTURES.find((f) => f.dir === 'enc-dgr-zstd-256k') as (typeof WYNG_FIXTURES)[number];
const passphrase = `${fixture.passphrase}\n`;
const uid = process.getuid?.() ?? 0;

let runtimeCount = 0;
/** A fresh XDG_RUNTIME_DIR and the environment that points at it. */
function runtime(): { dir: string; agentDir: string; env: NodeJS.ProcessEnv } {
  const dir = join(scratch.dir, `run-${runtimeCount++}`);
  mkdirSync(dir, { mode: 0o700 });
  return { dir, agentDir: join(dir, `skiff-agent-${uid}`), env: { ...process.env, TZ: 'UTC', XDG_RUNTIME_DIR: dir } };
}

function sockets(agentDir: string): string[] {
  return existsSync(agentDir) ? readdirSync(agentDir).filter((n) => n.endsWith('.sock')) : [];
}

/** Waits (bounded) until the agent directory holds `count` sockets: agents start in the background. */
async function waitForSockets(agentDir: string, count: number): Promise<string[]> {
  for (let i = 0; i < 200 && sockets(agentDir).length !== count; i++) await sleep(50);
  return sockets(agentDir);
}

/** Ends agent processes whose socket lies under `dir`, by their pid (a failed test's leftovers). */
function killAgentsUnder(dir: string): void {
  for (const pid of readdirSync('/proc').filter((n) => /^[0-9]+$/.test(n))) {
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmdline.includes('key-agent.js') && cmdline.includes(dir)) process.kill(Number(pid), 'SIGTERM');
  }
}
after(() => {
  killAgentsUnder(scratch.dir);
  scratch.cleanup();
});

function noStackTrace(result: CliResult): void {
  assert.ok(!/Internal error|\n\s+at /.test(result.stderr), result.stderr);
}

describe('key agent', () => {
  const archive = copyFixture(fixture.dir, scratch.dir);
  const dest = `--dest=file:${archive}`;

  it('an agent directory owned by another user: exit 1, one line, no stack trace', async () => {
    const { dir, agentDir, env } = runtime();
    mkdirSync(agentDir, { mode: 0o700 });
    chownSync(agentDir, 65534, 65534);
    const result = await runSkiff(['list', dest, '--authmin=1'], { input: passphrase, env });
    assert.equal(result.code, 1, result.stderr);
    noStackTrace(result);
    const lines = errorLines(result);
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0] as string, /agent directory .*skiff-agent-.* is owned by uid 65534/);
    // Ours, but open to others: refused the same way.
    chownSync(agentDir, uid, uid);
    chmodSync(agentDir, 0o755);
    const open = await runSkiff(['list', dest, '--authmin=1'], { input: passphrase, env });
    assert.equal(open.code, 1, open.stderr);
    assert.match(errorLines(open).join('\n'), /^Key agent directory .* has mode 0755, open to others/);
    killAgentsUnder(dir);
  });

  it('a socket owned by another user is not trusted: nothing connects to it', async () => {
    const { dir, agentDir, env } = runtime();
    // Learn the socket name from a real agent, stop it, then put a stranger's socket there.
    const first = await runSkiff(['list', dest, '--authmin=1'], { input: passphrase, env });
    assert.equal(first.code, 0, first.stderr);
    const [name] = await waitForSockets(agentDir, 1);
    assert.ok(name, 'the agent made its socket');
    const stop = await runSkiff(['list', dest, '--authmin=-1'], { env });
    assert.equal(stop.code, 0, stop.stderr);
    await waitForSockets(agentDir, 0);
    const path = join(agentDir, name);
    let connections = 0;
    const server: Server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      chownSync(path, 65534, 65534);
      const result = await runSkiff(['list', dest, '--authmin=1'], { input: passphrase, env });
      assert.equal(connections, 0, 'the client did not talk to a socket of another user');
      assert.equal(result.code, 1, result.stderr);
      noStackTrace(result);
      assert.match(errorLines(result).join('\n'), /agent socket .* is owned by uid 65534/);
      // Ours, but others may connect to it: not trusted either.
      chownSync(path, uid, uid);
      chmodSync(path, 0o777);
      const open = await runSkiff(['list', dest, '--authmin=1'], { input: passphrase, env });
      assert.equal(connections, 0);
      assert.equal(open.code, 1, open.stderr);
      assert.match(errorLines(open).join('\n'), /agent socket .* has mode 0777, open to others/);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      killAgentsUnder(dir);
    }
  });

  it('a wrong piped passphrase or a failing --passcmd is refused (exit 3) while the agent holds the keys', async () => {
    const { dir, agentDir, env } = runtime();
    try {
      const first = await runSkiff(['list', dest, '--authmin=1'], { input: passphrase, env });
      assert.equal(first.code, 0, first.stderr);
      assert.equal((await waitForSockets(agentDir, 1)).length, 1);
      const noInput = await runSkiff(['list', dest, '--authmin=1'], { env });
      assert.equal(noInput.code, 0, `no passphrase given: the agent's keys are used\n${noInput.stderr}`);
      const wrong = await runSkiff(['list', dest, '--authmin=1'], { input: 'not-the-passphrase\n', env });
      assert.equal(wrong.code, 3, wrong.stderr);
      noStackTrace(wrong);
      const failing = await runSkiff(['list', dest, '--authmin=1', '--passcmd=false'], { env });
      assert.equal(failing.code, 3, failing.stderr);
      const right = await runSkiff(['list', dest, '--authmin=1', '--verbose'], { input: passphrase, env });
      assert.equal(right.code, 0, right.stderr);
      assert.match(right.stderr, /Deriving keys…/);
    } finally {
      await runSkiff(['list', dest, '--authmin=-1'], { env });
      killAgentsUnder(dir);
      rmSync(agentDir, { recursive: true, force: true });
    }
  });

  it('--authmin=-1 stops the agent even when the command then fails', async () => {
    const { dir, agentDir, env } = runtime();
    try {
      for (const failing of [
        ['receive', dest, 'no-such.img', '--save-to=/nonexistent/x.img'], // fails after the archive is open (verify now skips an unknown volume, as Wyng)
        ['send', dest, '--autoprune=maybe', 'x.img'], // fails before it is opened
      ]) {
        const start = await runSkiff(['list', dest, '--authmin=1'], { input: passphrase, env });
        assert.equal(start.code, 0, start.stderr);
        assert.equal((await waitForSockets(agentDir, 1)).length, 1);
        const result = await runSkiff([...failing, '--authmin=-1'], { env });
        assert.notEqual(result.code, 0);
        assert.deepEqual(await waitForSockets(agentDir, 0), [], `${failing[0]} stopped the agent`);
      }
    } finally {
      killAgentsUnder(dir);
    }
  });

  it('file:/x, file:///x and file:x reach one agent', async () => {
    const { dir, agentDir, env } = runtime();
    try {
      const first = await runSkiff(['list', `--dest=file:${archive}`, '--authmin=1'], { input: passphrase, env });
      assert.equal(first.code, 0, first.stderr);
      assert.equal((await waitForSockets(agentDir, 1)).length, 1);
      for (const [spelling, cwd] of [
        [`file://${archive}`, undefined],
        [`file:${archive.slice(dirname(archive).length + 1)}`, dirname(archive)],
        [`file:${archive}/./`, undefined],
      ] as const) {
        const result = await runSkiff(['list', `--dest=${spelling}`, '--authmin=1'], { env, ...(cwd ? { cwd } : {}) });
        assert.equal(result.code, 0, `${spelling} used the agent's keys\n${result.stderr}`);
      }
      assert.equal(sockets(agentDir).length, 1);
    } finally {
      await runSkiff(['list', dest, '--authmin=-1'], { env });
      killAgentsUnder(dir);
    }
  });
});

/** Runs the CLI and returns its exit code and the peak resident memory (VmHWM) in MiB. */
function peakRss(args: readonly string[], input: string, env: NodeJS.ProcessEnv): Promise<{ code: number; mib: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'ignore', 'pipe'] });
    let peakKiB = 0;
    let stderr = '';
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+([0-9]+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKiB = Math.max(peakKiB, Number(m[1]));
      } catch {
        // it has exited
      }
    }, 20);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(poll);
      resolve({ code: code ?? -1, mib: Math.round(peakKiB / 1024), stderr });
    });
    child.stdin.end(input);
  });
}

describe('key derivation memory', () => {
  it('runs the two scrypts in parallel only where memory is plentiful', () => {
    const gib = 1024 ** 3;
    assert.equal(deriveInParallel({ totalBytes: 4 * gib, freeBytes: 3 * gib }), false, 'a dom0');
    assert.equal(deriveInParallel({ totalBytes: 64 * gib, freeBytes: 4 * gib }), false, 'a busy big machine');
    assert.equal(deriveInParallel({ totalBytes: 32 * gib, freeBytes: 20 * gib }), true);
  });

  it('an unlock on a dom0-sized machine (4 GiB, 3 GiB free) peaks at most at 600 MiB, in list and in send', async (t) => {
    const { env } = runtime();
    const archive = join(scratch.dir, fixture.dir);
    const meta = join(scratch.dir, 'meta-rss');
    const source = join(scratch.dir, 'rss.img');
    writeFileSync(source, Buffer.alloc(1 << 20, 5));
    for (const args of [['list'], ['send', `--import-other-from=rss.img:|:${source}`]]) {
      const result = await peakRss([...args, `--dest=file:${archive}`, '--authmin=0', `--meta-dir=${meta}`], passphrase, {
        ...env,
        SKIFF_TEST_MEMORY_MIB: '4096:3072',
      });
      assert.equal(result.code, 0, result.stderr);
      t.diagnostic(`${args[0]}: unlock peak RSS (VmHWM) ${result.mib} MiB`);
      assert.ok(result.mib > 0, 'VmHWM was read');
      assert.ok(result.mib <= 600, `${args[0]}: peak ${result.mib} MiB`);
    }
  });
});
