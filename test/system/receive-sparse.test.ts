// receive --sparse-write and --sparse (behavior spec §5.3): the existing target (a file or a
// loop block device) is kept and only what differs is written; chunks that are zeros in the
// session but hold data locally are punched (the file, or the loop device's backing file, stays
// sparse: its st_blocks match a plain sparse restore), "Diff bytes" counts what changed, and
// --sparse fetches only the chunks whose local hash differs (counted at the ssh carrier's
// stdout: ≤ 2% of the volume's chunk bytes after a 1% change). --sparse to a missing file is
// refused and creates nothing; --sparse-write to one is a normal receive (as in Wyng).
//
// File targets run the CLI in this process (an encrypted archive, the scrypt memo); the ssh
// measurement is a subprocess, as it starts the destination helper.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { interruptWhileSaving, kdfMemoEnv, runSkiff, scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';
import { attachLoop, readDevice, requireSystem } from '../helpers/system.js';
import { keystream, makeVolume } from '../helpers/volumes.js';

const CHUNK = 65536;
const scratch = scratchDir('skiff-sparse-');
let sshd: Sshd | null = null;
after(async () => {
  await sshd?.stop();
  scratch.cleanup();
});

const PASS = ['--passcmd=echo sparse-test-passphrase'];
let counter = 0;
// The in-process runs read the scrypt memo's switches from this process's environment.
Object.assign(process.env, kdfMemoEnv());

async function skiff(dest: string, args: string[], code = 0) {
  const r = await runSkiffInProcess([`--dest=file:${dest}`, ...PASS, ...args]);
  assert.equal(r.code, code, `skiff ${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
  return r;
}

/** 16 chunks cycling random / zero / text / half-random, and a 1000-byte tail. */
const VOLUME = makeVolume('sparse', CHUNK, 16, 1000);

/** An archive holding VOLUME in one session (made once; the tests only read it); its directory. */
let shared: Promise<string> | null = null;
function archiveOf(): Promise<string> {
  shared ??= (async () => {
    const dir = join(scratch.dir, 'archive');
    const source = join(scratch.dir, 'source.img');
    writeFileSync(source, VOLUME);
    await skiff(dir, ['arch-init', '--encrypt=xchacha20-dgr', '--chunk-factor=1']);
    await skiff(dir, ['send', `--import-other-from=vol.img:|:${source}`]);
    return dir;
  })();
  return shared;
}

/** Writes the non-zero chunks of `bytes` into a fresh sparse file (zero chunks stay holes). */
function writeSparse(path: string, bytes: Buffer, size = bytes.length): void {
  writeFileSync(path, '');
  truncateSync(path, size);
  const fd = openSync(path, 'r+');
  try {
    for (let at = 0; at < bytes.length; at += CHUNK) {
      const part = bytes.subarray(at, at + CHUNK);
      if (part.some((b) => b !== 0)) writeSync(fd, part, 0, part.length, at);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * What the target holds before the receive: VOLUME with chunk 0 changed, data in chunks 1 and 5
 * (zero chunks in the session: punched), a hole at chunk 8 (data in the session), and 100 KiB more.
 */
function staleCopy(): Buffer {
  const stale = Buffer.concat([VOLUME, keystream('extra', 100 * 1024)]);
  keystream('changed-first', 5000).copy(stale, 300);
  keystream('data-in-zero-chunk', CHUNK).copy(stale, CHUNK);
  keystream('data-in-zero-chunk-5', 3000).copy(stale, 5 * CHUNK + 7000);
  stale.fill(0, 8 * CHUNK, 9 * CHUNK);
  return stale;
}
/** Chunks 0, 1, 5 and 8 differ. */
const DIFF_BYTES = 4 * CHUNK;

function blocksOf(path: string): number {
  return statSync(path).blocks;
}

const FILE_TOOLS = ['fallocate'];

describe('receive --sparse-write / --sparse to a file', () => {
  for (const mode of ['--sparse-write', '--sparse']) {
    it(`${mode}: byte-identical in place, the zero chunk punched, Diff bytes counted`, async (t) => {
      if (!requireSystem(t, FILE_TOOLS)) return;
      const dest = await archiveOf();
      // The size a plain receive allocates (zero chunks are holes there): the reference.
      const plain = join(scratch.dir, `plain${counter++}.img`);
      await skiff(dest, ['receive', 'vol.img', `--save-to=${plain}`]);
      const target = join(scratch.dir, `target${counter++}.img`);
      writeSparse(target, staleCopy());
      const inode = statSync(target).ino;
      assert.ok(blocksOf(target) > blocksOf(plain) + 64, 'the stale copy holds data where the session has a zero chunk');

      const r = await skiff(dest, ['receive', 'vol.img', `--save-to=${target}`, mode]);
      assert.ok(readFileSync(target).equals(VOLUME), 'restored bytes differ');
      assert.equal(statSync(target).ino, inode, 'the target was replaced, not written in place');
      assert.ok(Math.abs(blocksOf(target) - blocksOf(plain)) < 64, `st_blocks ${blocksOf(target)} vs ${blocksOf(plain)}: not punched`);
      assert.match(r.stdout, new RegExp(`: OK  Diff bytes: ${DIFF_BYTES}\\n`));

      // Again: nothing differs now, so nothing is written and no Diff bytes are reported.
      const again = await skiff(dest, ['receive', 'vol.img', `--save-to=${target}`, mode]);
      assert.match(again.stdout, /: OK \n/);
      assert.doesNotMatch(again.stdout, /Diff bytes/);
      assert.ok(readFileSync(target).equals(VOLUME));
    });
  }

  for (const encrypt of ['off', 'xchacha20-ct', 'xchacha20-msr']) {
    it(`--sparse with --encrypt=${encrypt}: fetches only the differing chunks' files, byte-identical`, async (t) => {
      if (!requireSystem(t, FILE_TOOLS)) return;
      const dest = join(scratch.dir, `archive-${encrypt}`);
      const source = join(scratch.dir, `source-${encrypt}.img`);
      writeFileSync(source, VOLUME);
      await skiff(dest, ['arch-init', `--encrypt=${encrypt}`, '--chunk-factor=1']);
      await skiff(dest, ['send', `--import-other-from=vol.img:|:${source}`]);
      const target = join(scratch.dir, `target-${encrypt}.img`);
      writeSparse(target, staleCopy());
      const r = await skiff(dest, ['receive', 'vol.img', `--save-to=${target}`, '--sparse', '--verbose']);
      assert.ok(readFileSync(target).equals(VOLUME), 'restored bytes differ');
      // Of the differing chunks only 0 and 8 hold data in the session (1 and 5 are zero chunks).
      const vol = readdirSync(dest).find((n) => n.startsWith('Vol_')) as string;
      const session = readdirSync(join(dest, vol)).find((n) => n.startsWith('S_')) as string;
      const fileBytes = ['x0000000000000000', 'x0000000000080000']
        .map((name) => statSync(join(dest, vol, session, '000000000', name)).size)
        .reduce((a, b) => a + b, 0);
      assert.match(r.stdout, new RegExp(`Diff bytes: ${DIFF_BYTES} Data bytes: ${fileBytes} / ${VOLUME.length}`));
    });
  }

  it('writes zeros where punching a hole fails', async (t) => {
    if (!requireSystem(t, FILE_TOOLS)) return;
    const dest = await archiveOf();
    const bin = join(scratch.dir, `failing-fallocate${counter++}`);
    mkdirSync(bin);
    writeFileSync(join(bin, 'fallocate'), '#!/bin/sh\necho "fallocate: fallocate failed: Operation not supported" >&2\nexit 1\n', {
      mode: 0o755,
    });
    const plain = join(scratch.dir, `plain${counter++}.img`);
    await skiff(dest, ['receive', 'vol.img', `--save-to=${plain}`]);
    const target = join(scratch.dir, `nopunch${counter++}.img`);
    writeSparse(target, staleCopy());
    const r = await runSkiffInProcess([`--dest=file:${dest}`, ...PASS, 'receive', 'vol.img', `--save-to=${target}`, '--sparse-write'], {
      env: { PATH: `${bin}:${process.env['PATH']}` },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(readFileSync(target).equals(VOLUME), 'restored bytes differ');
    assert.match(r.stdout, new RegExp(`: OK  Diff bytes: ${DIFF_BYTES}\\n`));
    // Chunks 1 and 5 were written as zeros (allocated: 2 × 128 blocks more than a plain receive).
    const expected = blocksOf(plain) + (2 * CHUNK) / 512;
    assert.ok(Math.abs(blocksOf(target) - expected) < 64, `st_blocks ${blocksOf(target)}, expected about ${expected}`);
  });

  it('without fallocate: "Sparse and snapshot modes disabled." and a normal receive', async (t) => {
    if (!requireSystem(t, FILE_TOOLS)) return;
    const dest = await archiveOf();
    const empty = join(scratch.dir, `empty-path${counter++}`);
    mkdirSync(empty);
    const target = join(scratch.dir, `notool${counter++}.img`);
    writeSparse(target, staleCopy());
    const inode = statSync(target).ino;
    const r = await runSkiffInProcess([`--dest=file:${dest}`, ...PASS, 'receive', 'vol.img', `--save-to=${target}`, '--sparse'], {
      env: { PATH: empty },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Sparse and snapshot modes disabled\.\nSaving to file/);
    assert.ok(readFileSync(target).equals(VOLUME));
    assert.notEqual(statSync(target).ino, inode, 'a normal receive renames a new file into place');
    assert.doesNotMatch(r.stdout, /Diff bytes/);
  });

  it('--sparse to a missing file: one-line error, exit 9, nothing created', async (t) => {
    if (!requireSystem(t, FILE_TOOLS)) return;
    const dest = await archiveOf();
    const target = join(scratch.dir, `missing${counter++}`, 'vol.img');
    const r = await skiff(dest, ['receive', 'vol.img', `--save-to=${target}`, '--sparse'], 9);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(r.stderr, /--sparse needs an existing target: '.*vol\.img' does not exist/);
    assert.ok(!existsSync(target) && !existsSync(join(target, '..')), 'something was created');
  });

  it('--sparse-write to a missing file is a normal receive (as in Wyng)', async (t) => {
    if (!requireSystem(t, FILE_TOOLS)) return;
    const dest = await archiveOf();
    const target = join(scratch.dir, `new${counter++}.img`);
    const r = await skiff(dest, ['receive', 'vol.img', `--save-to=${target}`, '--sparse-write']);
    assert.ok(readFileSync(target).equals(VOLUME));
    assert.doesNotMatch(r.stdout, /Diff bytes/);
  });

  it('a failed --sparse-write zeroes the first chunk once it changed the target', async (t) => {
    if (!requireSystem(t, FILE_TOOLS)) return;
    const dest = join(scratch.dir, `damaged${counter++}`);
    cpSync(await archiveOf(), dest, { recursive: true });
    // Damage chunk 8's file: it differs locally (a hole), so it is fetched and fails its check.
    const vol = readdirSync(dest).find((n) => n.startsWith('Vol_')) as string;
    const session = readdirSync(join(dest, vol)).find((n) => n.startsWith('S_')) as string;
    const chunk = join(dest, vol, session, '000000000', 'x0000000000080000');
    const bytes = readFileSync(chunk);
    bytes[40] = (bytes[40] as number) ^ 1;
    writeFileSync(chunk, bytes);
    const target = join(scratch.dir, `failing${counter++}.img`);
    writeSparse(target, staleCopy());
    const r = await skiff(dest, ['receive', 'vol.img', `--save-to=${target}`, '--sparse-write'], 2);
    assert.match(r.stderr, /bad hash.*first 65536 bytes of .* were zeroed/);
    const after = readFileSync(target);
    assert.ok(
      after.subarray(0, CHUNK).every((b) => b === 0),
      'first chunk not zeroed',
    );
    // Chunk 1 was punched before the failure; nothing after the failed chunk was touched.
    assert.ok(after.subarray(CHUNK, 2 * CHUNK).every((b) => b === 0));
    assert.ok(after.subarray(9 * CHUNK).equals(staleCopy().subarray(9 * CHUNK)));
  });

  it('an interrupted --sparse-write zeroes the first chunk (exit 8)', async (t) => {
    if (!requireSystem(t, FILE_TOOLS)) return;
    const dest = await archiveOf();
    const target = join(scratch.dir, `interrupted${counter++}.img`);
    writeSparse(target, staleCopy());
    // 400 ms a chunk: chunk 1 is punched after about 2.4 s (when chunk 5 starts a new run), and
    // the last of the 17 chunks comes after about 6.8 s; the interrupt falls in between.
    const ended = await interruptWhileSaving(
      [`--dest=file:${dest}`, ...PASS, 'receive', 'vol.img', `--save-to=${target}`, '--sparse-write'],
      400,
      3500,
    );
    assert.equal(ended.code, 8, `${ended.stdout}\n${ended.stderr}`);
    const after = readFileSync(target);
    assert.ok(
      after.subarray(0, CHUNK).every((b) => b === 0),
      'first chunk not zeroed',
    );
    assert.ok(
      after.subarray(CHUNK, 2 * CHUNK).every((b) => b === 0),
      'chunk 1 was punched before the interrupt',
    );
    // Running it again finishes the restore.
    await skiff(dest, ['receive', 'vol.img', `--save-to=${target}`, '--sparse-write']);
    assert.ok(readFileSync(target).equals(VOLUME));
  });
});

describe('receive --sparse-write / --sparse to a loop block device', () => {
  for (const mode of ['--sparse-write', '--sparse']) {
    it(`${mode}: byte-identical, zero chunk discarded (backing file sparse), bytes past the volume untouched`, async (t) => {
      if (!requireSystem(t, ['losetup', 'blkdiscard', 'fallocate'])) return;
      const dest = await archiveOf();
      const deviceBytes = 20 * CHUNK;
      const tail = Buffer.alloc(deviceBytes - VOLUME.length, 0xaa);
      // Reference: the backing file as it should end up (the volume's zero chunks as holes).
      const reference = join(scratch.dir, `reference${counter++}.img`);
      writeSparse(reference, Buffer.concat([VOLUME, tail]));
      const backing = join(scratch.dir, `backing${counter++}.img`);
      writeSparse(backing, Buffer.concat([staleCopy().subarray(0, VOLUME.length), tail]));
      assert.ok(blocksOf(backing) > blocksOf(reference) + 64);
      const loop = attachLoop(backing);
      try {
        const r = await skiff(dest, ['receive', 'vol.img', `--save-to=${loop.device}`, mode]);
        assert.match(r.stdout, new RegExp(`Saving to block device '${loop.device}'`));
        assert.match(r.stdout, new RegExp(`: OK  Diff bytes: ${DIFF_BYTES}\\n`));
        const content = readDevice(loop.device, deviceBytes);
        assert.ok(content.subarray(0, VOLUME.length).equals(VOLUME), 'restored bytes differ');
        assert.ok(content.subarray(VOLUME.length).equals(tail), 'bytes past the volume were touched');
      } finally {
        loop.detach();
      }
      assert.ok(Math.abs(blocksOf(backing) - blocksOf(reference)) < 64, `st_blocks ${blocksOf(backing)} vs ${blocksOf(reference)}`);
    });
  }
});

/** An `ssh` first on PATH that counts what the real one writes to its stdout (the helper's replies). */
function countingSsh(dir: string, count: string): string {
  const bin = join(dir, `counting-bin${counter++}`);
  execFileSync('mkdir', ['-p', bin]);
  const real = execFileSync('sh', ['-c', 'command -v ssh']).toString().trim();
  writeFileSync(join(bin, 'ssh'), `#!/bin/bash\nset -o pipefail\n${real} "$@" | dd bs=65536 2>>${count}\n`, { mode: 0o755 });
  return bin;
}

function countedBytes(count: string): number {
  let total = 0;
  for (const m of readFileSync(count, 'utf8').matchAll(/^(\d+) bytes/gm)) total += Number(m[1]);
  return total;
}

describe('receive --sparse over ssh', () => {
  it('after a 1% change of 64 MiB, fetches at most 2% of the chunk bytes; byte-identical', async (t: TestContext) => {
    if (!requireSystem(t, ['/usr/sbin/sshd', 'ssh', 'ssh-keygen', 'fallocate', 'dd', 'bash'])) return;
    sshd ??= await startSshd();
    const dir = join(scratch.dir, 'ssh-archive');
    const size = 64 * 1024 * 1024;
    const volume = keystream('sparse-ssh', size);
    const source = join(scratch.dir, 'ssh-source.img');
    writeFileSync(source, volume);
    const count = join(scratch.dir, `ssh-count${counter++}`);
    const bin = countingSsh(scratch.dir, count);
    const run = async (args: string[]) => {
      const r = await runSkiff(
        [...args, `--dest=ssh://${sshd?.authority}${dir}`, ...PASS, ...(sshd?.sshOptions ?? []).map((o) => `--opt-ssh=${o}`)],
        { env: { ...process.env, TZ: 'UTC', PATH: `${bin}:${process.env['PATH']}` } },
      );
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
      return r;
    };
    await run(['arch-init', '--encrypt=xchacha20-dgr']);
    await run(['send', `--import-other-from=vol.img:|:${source}`]);
    const vol = readdirSync(dir).find((n) => n.startsWith('Vol_')) as string;
    const chunkBytes = Number(
      execFileSync('du', ['-sb', '--apparent-size', join(dir, vol)])
        .toString()
        .split('\t')[0],
    );
    assert.ok(chunkBytes > size, 'random data does not compress');

    // 1% of the volume changed in place (640 KiB from a chunk boundary: 3 chunks of 256 KiB).
    const target = join(scratch.dir, 'ssh-target.img');
    writeFileSync(target, volume);
    const fd = openSync(target, 'r+');
    writeSync(fd, keystream('one-percent', Math.floor(size / 100)), 0, Math.floor(size / 100), 40 * 256 * 1024);
    closeSync(fd);

    writeFileSync(count, '');
    const r = await run(['receive', 'vol.img', `--save-to=${target}`, '--sparse']);
    const fetched = countedBytes(count);
    t.diagnostic(`--sparse: ${fetched} bytes from the helper, of ${chunkBytes} chunk bytes`);
    assert.ok(readFileSync(target).equals(volume), 'restored bytes differ');
    assert.match(r.stdout, new RegExp(`Diff bytes: ${3 * 256 * 1024}`));
    assert.ok(fetched > 0, 'the counter counted nothing');
    assert.ok(fetched <= 0.02 * chunkBytes, `--sparse fetched ${fetched} bytes of ${chunkBytes}`);

    // The counter sees a full receive's bytes (it measures what it claims to).
    writeFileSync(count, '');
    await run(['receive', 'vol.img', `--save-to=${join(scratch.dir, 'ssh-full.img')}`]);
    t.diagnostic(`full receive: ${countedBytes(count)} bytes from the helper`);
    assert.ok(countedBytes(count) >= chunkBytes * 0.99, `full receive counted ${countedBytes(count)}`);
  });
});
