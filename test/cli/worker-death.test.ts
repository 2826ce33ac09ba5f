// A worker thread that dies in the middle of a run (SKIFF_TEST_WORKER_EXIT_AFTER: the thread
// exits at its N+1-th chunk, as a crash would end it): send and receive stop with one clean
// message and a non-zero exit code, no stack trace; a send adds no session and leaves the earlier
// ones verifying and restoring; a receive leaves no file at the target path (the temporary name
// is removed), and on a block device zeroes the first chunk as restore-target.ts promises.

import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runSkiff, scratchDir } from '../helpers/cli.js';
import { attachLoop, requireSystem } from '../helpers/system.js';
import { keystream, makeVolume, writeAt } from '../helpers/volumes.js';

const scratch = scratchDir('skiff-worker-death-');
after(scratch.cleanup);
const CHUNK = 65536;
const archiveDir = join(scratch.dir, 'archive');
const source = join(scratch.dir, 'source.img');
const common = [
  `--dest=file:${archiveDir}`,
  `--meta-dir=${join(scratch.dir, 'meta')}`,
  '--authmin=0',
  '--passcmd=echo worker-death-passphrase',
];
const dying = { env: { ...process.env, TZ: 'UTC', SKIFF_TEST_WORKER_EXIT_AFTER: '3' } };
let first: Buffer;

async function skiff(args: string[], code = 0) {
  const r = await runSkiff([...args, ...common]);
  assert.equal(r.code, code, `skiff ${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
  return r;
}

/** The session directories of the one volume (S_…), sorted. */
function sessionDirs(): string[] {
  const volume = readdirSync(archiveDir).filter((name) => name.startsWith('Vol_'));
  assert.equal(volume.length, 1);
  return readdirSync(join(archiveDir, volume[0] as string))
    .filter((name) => name.startsWith('S_'))
    .sort();
}

function assertCleanFailure(r: { code: number; stderr: string }, what: string): void {
  assert.notEqual(r.code, 0, `${what} must fail`);
  assert.match(r.stderr, /worker/, `${what}: the message names the worker`);
  assert.doesNotMatch(r.stderr, /Internal error/, `${what}: not reported as a bug`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
}

before(async () => {
  first = makeVolume('worker-death', CHUNK, 80, 100);
  writeFileSync(source, first);
  await skiff(['arch-init', '--encrypt=xchacha20-dgr', '--chunk-factor=1']);
  await skiff(['send', `--import-other-from=v.img:|:${source}`]);
});

describe('a worker thread dies', () => {
  it('mid-send: clean error, no session added, the earlier session still verifies and restores', async () => {
    const before = sessionDirs();
    assert.equal(before.length, 1);
    for (let i = 0; i < 80; i += 4) writeAt(source, i * CHUNK, keystream(`change${i}`, CHUNK));
    const r = await runSkiff(['send', `--import-other-from=v.img:|:${source}`, ...common], dying);
    assertCleanFailure(r, 'send');
    assert.deepEqual(sessionDirs(), before, 'a session was added or removed');
    const list = await skiff(['list', 'v.img']);
    assert.equal(list.stdout.match(/\b\d{8}-\d{6}\b/g)?.length, 1, list.stdout);
    await skiff(['verify', 'v.img']);
    const target = join(scratch.dir, 'after-send.img');
    await skiff(['receive', 'v.img', `--save-to=${target}`]);
    assert.ok(readFileSync(target).equals(first), 'the earlier session restores byte-identical');
  });

  it('mid-receive to a file: clean error, nothing at the target path, no temporary left', async () => {
    const dir = join(scratch.dir, 'restore');
    const target = join(dir, 'v.img');
    const r = await runSkiff(['receive', 'v.img', `--save-to=${target}`, ...common], dying);
    assertCleanFailure(r, 'receive');
    assert.match(r.stderr, /; nothing was written to /);
    assert.ok(!existsSync(target), 'a restore appeared at the target path');
    if (existsSync(dir)) assert.deepEqual(readdirSync(dir), [], 'leftovers in the target directory');
  });

  it('mid-receive to a block device: clean error, the first chunk zeroed', async (t) => {
    if (!requireSystem(t, ['losetup'])) return;
    const backing = join(scratch.dir, 'device.img');
    const bytes = 8 * 1024 * 1024;
    writeFileSync(backing, Buffer.alloc(bytes, 0xaa));
    const loop = attachLoop(backing);
    try {
      const r = await runSkiff(['receive', 'v.img', `--save-to=${loop.device}`, ...common], dying);
      assertCleanFailure(r, 'receive to a device');
      assert.match(r.stderr, /worker thread exited unexpectedly.*; the first 65536 bytes of .* were zeroed/);
      const content = Buffer.alloc(bytes);
      const fd = openSync(loop.device, 'r');
      try {
        readSync(fd, content, 0, bytes, 0);
      } finally {
        closeSync(fd);
      }
      assert.ok(
        content.subarray(0, CHUNK).every((b) => b === 0),
        'first chunk not zeroed',
      );
      assert.ok(
        content.subarray(first.length).every((b) => b === 0xaa),
        'bytes past the volume were touched',
      );
    } finally {
      loop.detach();
    }
  });
});
