// The common receive (a file: archive into a plain file or block device, at least 64 chunks)
// goes direct: worker threads read, check and write the chunks (engine/restore/direct-receive.ts).
// Through the CLI: the restore is byte-identical; a chunk that fails its checks in the middle of
// a worker's batch leaves an existing target file as it was and no temporary behind;
// --skip-corrupt-chunks restores the rest with zeros in its place; a worker's write failing (a
// full file system) is one clear line (exit 7) and leaves no temporary; on a block device, the
// bytes past the volume are left alone and a failure zeroes the first chunk; an interrupt (SIGINT)
// exits 8 with the same guarantees.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { interruptWhileSaving, runSkiff, scratchDir } from '../helpers/cli.js';
import { attachLoop, readDevice, requireSystem } from '../helpers/system.js';
import { makeVolume } from '../helpers/volumes.js';

const scratch = scratchDir('skiff-receive-direct-');
after(scratch.cleanup);
const CHUNK = 65536;
const CHUNKS = 200;
/** A chunk of text in the middle of a batch (16 chunks of 64 KiB each) and of the volume (makeVolume: every 4th chunk is zeros). */
const BAD = 106;
const archiveDir = join(scratch.dir, 'archive');
const source = join(scratch.dir, 'source.img');
const common = [`--dest=file:${archiveDir}`, `--meta-dir=${join(scratch.dir, 'meta')}`, '--authmin=0', '--passcmd=echo direct-passphrase'];
let volume: Buffer;

async function skiff(args: string[], code = 0) {
  const r = await runSkiff([...args, ...common]);
  assert.equal(r.code, code, `skiff ${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
  return r;
}

/** The chunk file of the (only) session for the chunk at `address`. */
function chunkFile(address: number): string {
  const name = `x${address.toString(16).padStart(16, '0')}`;
  const found = readdirSync(archiveDir, { recursive: true })
    .map(String)
    .filter((path) => path.endsWith(`/${name}`));
  assert.equal(found.length, 1, name);
  return join(archiveDir, found[0] as string);
}

/** Runs `use` with chunk BAD's file damaged, then puts it back. */
async function withDamagedChunk(use: () => Promise<void>): Promise<void> {
  const path = chunkFile(BAD * CHUNK);
  const good = readFileSync(path);
  const bad = Buffer.from(good);
  bad[bad.length >> 1] = (bad[bad.length >> 1] as number) ^ 0x10;
  writeFileSync(path, bad);
  try {
    await use();
  } finally {
    writeFileSync(path, good);
  }
}

/**
 * A receive into `target` slowed to 50 ms a chunk on the main thread (the 200 chunks take about
 * 10 s), interrupted 1 s after it started saving: exit 8, one clean line.
 */
async function interruptedReceive(target: string): Promise<void> {
  const ended = await interruptWhileSaving(['receive', 'v.img', `--save-to=${target}`, ...common], 50, 1000);
  assert.equal(ended.code, 8, `${ended.stdout}\n${ended.stderr}`);
  assert.doesNotMatch(ended.stderr, /Internal error|\n\s+at /);
}

before(async () => {
  volume = makeVolume('receive-direct', CHUNK, CHUNKS, 1000);
  // Runs of zeros: zero chunks in the manifest, between and beside worker batches.
  volume.fill(0, 20 * CHUNK, 40 * CHUNK);
  volume.fill(0, (BAD + 2) * CHUNK, (BAD + 3) * CHUNK);
  writeFileSync(source, volume);
  await skiff(['arch-init', '--encrypt=xchacha20-dgr', '--chunk-factor=1']);
  await skiff(['send', `--import-other-from=v.img:|:${source}`]);
});

describe('receive through worker threads that write the target', () => {
  it('restores a file byte-identical', async () => {
    const target = join(scratch.dir, 'ok', 'v.img');
    const r = await skiff(['receive', 'v.img', `--save-to=${target}`]);
    assert.match(r.stdout, /: OK/);
    assert.ok(readFileSync(target).equals(volume));
    assert.deepEqual(readdirSync(join(scratch.dir, 'ok')), ['v.img']);
  });

  it('a chunk failing its checks mid-batch leaves the existing file as it was, and no temporary', async () => {
    const dir = join(scratch.dir, 'existing');
    const target = join(dir, 'v.img');
    await skiff(['receive', 'v.img', `--save-to=${target}`]);
    writeFileSync(target, 'previous content');
    await withDamagedChunk(async () => {
      const r = await skiff(['receive', 'v.img', `--save-to=${target}`], 2);
      assert.match(r.stderr, new RegExp(`x${(BAD * CHUNK).toString(16).padStart(16, '0')}: bad hash.*; nothing was written to `));
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    });
    assert.equal(readFileSync(target, 'utf8'), 'previous content');
    assert.deepEqual(readdirSync(dir), ['v.img']);
  });

  it('--skip-corrupt-chunks restores the rest, the bad chunk as zeros, and exits 2', async () => {
    const target = join(scratch.dir, 'skip', 'v.img');
    await withDamagedChunk(async () => {
      const r = await skiff(['receive', 'v.img', `--save-to=${target}`, '--skip-corrupt-chunks'], 2);
      assert.match(r.stderr, new RegExp(`Skipping corrupt chunk at ${BAD * CHUNK} `));
      assert.match(r.stdout, /: 1 corrupt chunk restored as zeros/);
    });
    const expected = Buffer.from(volume);
    expected.fill(0, BAD * CHUNK, (BAD + 1) * CHUNK);
    assert.ok(readFileSync(target).equals(expected));
  });

  it('an interrupt (SIGINT) stops the workers: exit 8, the existing file as it was, no temporary', async () => {
    const dir = join(scratch.dir, 'interrupted');
    const target = join(dir, 'v.img');
    mkdirSync(dir);
    writeFileSync(target, 'previous content');
    await interruptedReceive(target);
    assert.equal(readFileSync(target, 'utf8'), 'previous content');
    assert.deepEqual(readdirSync(dir), ['v.img']);
  });

  it('a full file system under the target: one clear line, exit 7, no temporary left', async (t) => {
    if (!requireSystem(t, ['mount', 'umount'])) return;
    const mountPoint = join(scratch.dir, 'small');
    mkdirSync(mountPoint);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint]);
    try {
      const r = await skiff(['receive', 'v.img', `--save-to=${join(mountPoint, 'v.img')}`], 7);
      assert.match(r.stderr, /Writing the restored volume at offset [0-9]+ failed: ENOSPC/);
      assert.doesNotMatch(r.stderr, /Internal error|\n\s+at /);
      assert.deepEqual(readdirSync(mountPoint), []);
    } finally {
      execFileSync('umount', [mountPoint]);
    }
  });

  it('a block device: byte-identical, bytes past the volume kept; a failure zeroes the first chunk', async (t) => {
    if (!requireSystem(t, ['losetup'])) return;
    const backing = join(scratch.dir, 'device.img');
    const bytes = 16 * 1024 * 1024;
    writeFileSync(backing, Buffer.alloc(bytes, 0xaa));
    const loop = attachLoop(backing);
    try {
      await skiff(['receive', 'v.img', `--save-to=${loop.device}`]);
      let content = readDevice(loop.device, bytes);
      assert.ok(content.subarray(0, volume.length).equals(volume), 'restored byte-identical');
      assert.ok(
        content.subarray(volume.length).every((b) => b === 0xaa),
        'bytes past the volume were touched',
      );
      await withDamagedChunk(async () => {
        const r = await skiff(['receive', 'v.img', `--save-to=${loop.device}`], 2);
        assert.match(r.stderr, /bad hash.*; the first 65536 bytes of .* were zeroed/);
      });
      content = readDevice(loop.device, bytes);
      assert.ok(
        content.subarray(0, CHUNK).every((b) => b === 0),
        'first chunk not zeroed',
      );
    } finally {
      loop.detach();
    }
  });
  it('an interrupt (SIGINT) into a block device: exit 8, the first chunk zeroed', async (t) => {
    if (!requireSystem(t, ['losetup'])) return;
    const backing = join(scratch.dir, 'interrupted-device.img');
    const bytes = 16 * 1024 * 1024;
    writeFileSync(backing, Buffer.alloc(bytes, 0xaa));
    const loop = attachLoop(backing);
    try {
      await interruptedReceive(loop.device);
      const content = readDevice(loop.device, bytes);
      assert.ok(
        content.subarray(0, CHUNK).every((b) => b === 0),
        'first chunk not zeroed',
      );
    } finally {
      loop.detach();
    }
  });
});
