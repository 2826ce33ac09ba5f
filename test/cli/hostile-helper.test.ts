// A destination helper that lies, breaks the framing or stops answering (a FAKE helper,
// test/helpers/hostile-helper.ts, run as a child process): the agent ends with a clear error,
// buffers nothing beyond one frame, waits a bounded time, writes nothing outside its targets,
// never presents a restore as good, and never passes the helper's text raw to the terminal.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RemoteStore } from '../../source-agent/store/remote/remote-store.js';
import { StoreError } from '../../source-agent/store/store.js';
import { connectHelper } from '../../source-agent/transport/connect.js';
import { errorLines, runSkiff, scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { ATTACK_SHOWN, terminalProblem } from '../helpers/hostile-text.js';
import { installQvmRunStandIn } from '../helpers/qvm-run.js';
import { makeVolume } from '../helpers/volumes.js';

const HOSTILE = fileURLToPath(new URL('../helpers/hostile-helper.js', import.meta.url));
const scratch = scratchDir('skiff-hostile-');
after(scratch.cleanup);

function connectFake(behavior: string, timeoutMs = 30_000): Promise<RemoteStore> {
  return connectHelper(
    { argv: [process.execPath, HOSTILE, behavior], upload: null },
    { url: `fake:${behavior}`, root: scratch.dir, create: false, timeoutMs },
  );
}

function literal(text: string): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
}

async function failsWith(operation: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(operation, (error: unknown) => {
    assert.ok(error instanceof StoreError, `a StoreError, not ${String(error)}`);
    assert.equal(error.code, 'EIO');
    assert.match(error.message, pattern);
    // Whatever the helper sent, the message is safe to print.
    assert.equal(terminalProblem(Buffer.from(error.message)), null, error.message);
    assert.doesNotMatch(error.message, /\n/);
    return true;
  });
}

describe('hostile destination helper (fake helper process)', { timeout: 60_000 }, () => {
  const cases: [behavior: string, call: (s: RemoteStore) => Promise<unknown>, pattern: RegExp][] = [
    ['oversized', (s) => s.stat('archive.ini'), /bad frame: frame of 2147483632 bytes exceeds the limit/],
    ['garbage', (s) => s.stat('archive.ini'), /bad frame: unsupported type byte 0xc1/],
    ['wrong-type', (s) => s.stat('archive.ini'), /invalid reply: stat result: .*size/],
    ['unknown-id', (s) => s.stat('archive.ini'), /invalid reply: answers unknown request/],
    ['ack-result', (s) => s.stat('archive.ini'), /acknowledges stat request \d+, which needs a result/],
    ['bad-names', (s) => s.list('Vol_1'), /list of Vol_1 returned the name "..\/..\/etc\/passwd"/],
    ['huge-read', (s) => s.read('archive.ini', 1000), /announced 1001 bytes, over the 1000 asked for/],
    ['overlong-read', (s) => s.read('archive.ini', 1000), /sent more data than the 10 bytes it announced/],
    ['short-read', (s) => s.read('archive.ini', 1000), /ended after 20 of 100 bytes/],
    ['proto-keys', (s) => s.stat('archive.ini'), /bad frame: forbidden map key '__proto__'/],
    ['truncated', (s) => s.stat('archive.ini'), /ended its output in the middle of a frame/],
    ['exit', (s) => s.stat('archive.ini'), /exited \(exit code 7\); it said: .*lost the disk/],
    // Terminal injection: the helper's words are shown with their controls made visible.
    ['inject-error', (s) => s.stat('archive.ini'), literal(`archive.ini: on the destination: ${ATTACK_SHOWN}`)],
    ['inject-stderr', (s) => s.stat('archive.ini'), literal(`it said: ${ATTACK_SHOWN.replace('\\n', ' | ')}`)],
    ['inject-key', (s) => s.stat('archive.ini'), literal(`bad frame: duplicate map key '${ATTACK_SHOWN}'`)],
    ['inject-names', (s) => s.list('.'), literal('returned the name ".skiff-put-\\x1b]0;owned\\x07"')],
  ];
  for (const [behavior, call, pattern] of cases) {
    it(`${behavior}: a clear error, and the connection is closed`, async () => {
      const store = await connectFake(behavior);
      try {
        await failsWith(call(store), pattern);
        // Nothing more is trusted from this helper.
        await failsWith(store.stat('archive.ini'), /./);
      } finally {
        await store.close();
      }
    });
  }

  it('a helper that stops answering fails after the timeout, not never', async () => {
    const store = await connectFake('silent', 1500);
    try {
      await failsWith(store.stat('archive.ini'), /stopped answering \(nothing for 2 s\)/);
    } finally {
      await store.close();
    }
  });

  it('a helper that dies at hello: its last words are in the error', async () => {
    await failsWith(connectFake('exit-at-hello'), /exited \(exit code 3\); it said: .*cannot open the archive/);
  });

  it('a helper speaking another protocol version is refused at hello', async () => {
    await failsWith(connectFake('bad-version'), /speaks protocol version 2, not 1/);
  });
});

describe('hostile helper through the CLI (stand-in qvm-run runs the fake as the qrexec service)', { timeout: 120_000 }, () => {
  const standIn = installQvmRunStandIn(scratch.dir);
  const env = (behavior: string, service: string) => ({
    ...process.env,
    TZ: 'UTC',
    PATH: `${standIn.bin}:${process.env['PATH']}`,
    QVM_SERVICE_HELPER: service,
    HOSTILE_BEHAVIOR: behavior,
    SKIFF_DEST_TIMEOUT: '3',
  });

  it('a helper that dies during the run: exit 5, one line that says why', async () => {
    const r = await runSkiff([`--dest=qubes://vm${scratch.dir}`, 'list'], { env: env('exit', HOSTILE) });
    assert.equal(r.code, 5, r.stderr);
    assert.deepEqual(errorLines(r).length, 1, r.stderr);
    assert.match(r.stderr, /Destination error: .*exited \(exit code 7\); it said: .*lost the disk/);
  });

  // The helper's error message, its stderr, and names it lists reach the user only inert.
  const injections: [behavior: string, args: string[], shown: string][] = [
    ['inject-error', ['list'], ATTACK_SHOWN],
    ['inject-stderr', ['list'], ATTACK_SHOWN.replace('\\n', ' | ')],
    ['inject-names', ['arch-check', '--clean', '--verbose'], '".skiff-put-\\x1b]0;owned\\x07"'],
  ];
  for (const [behavior, args, shown] of injections) {
    it(`${behavior}: exit 5, the helper's text shown with its controls escaped`, async () => {
      const dir = join(scratch.dir, `inject-${behavior}`);
      assert.equal((await runSkiffInProcess(['arch-init', '--encrypt=off', `--dest=file:${dir}`])).code, 0);
      const r = await runSkiff([`--dest=qubes://vm${dir}`, ...args], { env: env(behavior, HOSTILE) });
      assert.equal(r.code, 5, r.stderr);
      assert.equal(terminalProblem(r.bytes), null, JSON.stringify(r.stdout + r.stderr));
      assert.ok(r.stderr.includes(shown), r.stderr);
      assert.deepEqual(errorLines(r).length, 1, r.stderr);
    });
  }

  it('a helper that damages chunk files: receive fails, nothing is presented as restored', async () => {
    const dir = join(scratch.dir, 'archive');
    const source = join(scratch.dir, 'vol.img');
    writeFileSync(source, makeVolume('hostile', 65536, 8, 1));
    const common = [`--dest=file:${dir}`, '--passcmd=echo hostile-passphrase'];
    // Setting up on file: needs no process of its own; the runs against the helpers below are processes.
    assert.equal((await runSkiffInProcess(['arch-init', '--chunk-factor=1', ...common])).code, 0);
    assert.equal((await runSkiffInProcess(['send', `--import-other-from=vol.img:|:${source}`, ...common])).code, 0);
    const target = join(scratch.dir, 'restored.img');
    const honest = await runSkiff(
      ['receive', 'vol.img', `--save-to=${target}`, `--dest=qubes://vm${dir}`, '--passcmd=echo hostile-passphrase'],
      {
        env: env('none', fileURLToPath(new URL('../../dest-helper/skiff-dest-helper.cjs', import.meta.url))),
      },
    );
    assert.equal(honest.code, 0, honest.stderr);
    assert.ok(readFileSync(target).equals(readFileSync(source)));
    const damaged = join(scratch.dir, 'damaged.img');
    const r = await runSkiff(
      ['receive', 'vol.img', `--save-to=${damaged}`, `--dest=qubes://vm${dir}`, '--passcmd=echo hostile-passphrase'],
      {
        env: env('flip-chunks', HOSTILE),
      },
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /x0000000000000000|chunk/i);
    assert.equal(existsSync(damaged), false, 'no restored file is left at the target');
  });
});
