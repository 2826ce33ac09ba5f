// receive into --local on a reflink pool (Btrfs subvolume, XFS with --vouch) and a plain file
// pool, through the built CLI: the newest and an older session byte-identical in every cipher
// mode, volume names with subdirectories, several volumes and --all in one run with the exit-2
// summary when one fails, re-pairing (the next send is incremental, not a full scan),
// --use-snapshot / --use-snapshot-diff / --req-snapshot, and bad input (no pairing, a read-only
// target). That no chunk data is transferred is shown by removing the chunk files from the
// archive: a receive that needed one would fail. The CLI runs in this process (no passphrase is
// read from a terminal: --passcmd), with the scrypt memo.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { type CliResult, kdfMemoEnv, scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { FS_TOOLS, type FsType, withLoopFs } from '../helpers/loop-fs.js';
import { requireSystem } from '../helpers/system.js';
import { keystream, makeVolume, writeAt } from '../helpers/volumes.js';

const scratch = scratchDir('skiff-recv-local-');
// Key derivation reads the memo's variables from this process's environment.
Object.assign(process.env, kdfMemoEnv());
after(scratch.cleanup);
const PASSPHRASE = 'system-test-passphrase';
const CS = 65536;
let counter = 0;

function testArchive(local: string, fsType: FsType, encrypt = 'off') {
  const n = counter++;
  const dir = join(scratch.dir, `archive-${n}`);
  const meta = join(scratch.dir, `meta-${n}`);
  const common = [`--dest=file:${dir}`, `--meta-dir=${meta}`, '--authmin=0', `--passcmd=echo ${PASSPHRASE}`];
  const vouch = fsType === 'xfs' ? ['--vouch=reflink_fs_xfs', '--vouch=fs_online_factors'] : [];
  const skiff = async (args: string[], expectCode = 0): Promise<CliResult> => {
    const r = await runSkiffInProcess([...args, ...common], { env: kdfMemoEnv() });
    assert.equal(r.code, expectCode, `skiff ${args.join(' ')} → ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  return {
    dir,
    skiff,
    init: () => skiff(['arch-init', `--encrypt=${encrypt}`, '--chunk-factor=1']),
    send: (names: string[], extra: string[] = []) => skiff(['send', ...names, `--local=${local}`, ...vouch, ...extra]),
    receive: (names: string[], extra: string[], expectCode = 0) =>
      skiff(['receive', ...names, `--local=${local}`, '--force', ...vouch, ...extra], expectCode),
  };
}

function vidDirs(archive: string): string[] {
  return readdirSync(archive)
    .filter((n) => n.startsWith('Vol_'))
    .map((n) => join(archive, n));
}

/** Sessions of the volume whose directory is `vid`, oldest first. */
function sessionsIn(vid: string): string[] {
  return readdirSync(vid)
    .filter((n) => n.startsWith('S_'))
    .sort();
}

function chunkFiles(vid: string, session: string): string[] {
  const dir = join(vid, session);
  return readdirSync(dir)
    .filter((d) => /^[0-9a-f]{9}$/.test(d))
    .flatMap((d) => readdirSync(join(dir, d)).map((f) => join(dir, d, f)))
    .sort();
}

/** Moves every chunk file of the archive aside (into `aside`) except those `keep` says to keep. */
function hideChunks(archive: string, aside: string, keep: (path: string) => boolean = () => false): () => void {
  const moved: [string, string][] = [];
  for (const vid of vidDirs(archive))
    for (const session of sessionsIn(vid))
      for (const file of chunkFiles(vid, session)) {
        if (keep(file)) continue;
        const to = join(aside, `${moved.length}`);
        mkdirSync(aside, { recursive: true });
        renameSync(file, to);
        moved.push([file, to]);
      }
  return () => {
    for (const [from, to] of moved) renameSync(to, from);
  };
}

const addr = (i: number) => `x${(i * CS).toString(16).padStart(16, '0')}`;

for (const fsType of ['btrfs', 'xfs'] as const) {
  describe(`receive --local on ${fsType}`, () => {
    const modes = fsType === 'btrfs' ? ['xchacha20-dgr', 'xchacha20-msr', 'xchacha20-ct', 'off'] : ['off'];
    it(`newest and older sessions byte-identical in ${modes.join(', ')}; re-paired so the next send is incremental; --use-snapshot-diff back`, async (t) => {
      if (!requireSystem(t, FS_TOOLS[fsType])) return;
      await withLoopFs(fsType, scratch.dir, 300, async ({ local, root }) => {
        for (const encrypt of modes) {
          const archive = testArchive(local, fsType, encrypt);
          const name = `vms/${encrypt}/disk.img`;
          const path = join(local, name);
          {
            await archive.init();
            mkdirSync(join(local, 'vms', encrypt), { recursive: true });
            writeFileSync(path, makeVolume(encrypt, CS, 8, 500));
            await archive.send([name]);
            const first = readFileSync(path);
            writeAt(path, 2 * CS + 10, keystream(`${encrypt}-2`, 3000));
            await archive.send([name]);
            const second = readFileSync(path);
            const [vid] = vidDirs(archive.dir) as [string];
            const [s1] = sessionsIn(vid) as [string];

            // An older session into a plain directory (not a subvolume: a file pool), subdirectories made.
            const plain = join(root, `plain-${encrypt}`);
            mkdirSync(plain);
            const older = await archive.skiff(['receive', name, `--local=${plain}`, `--session=${s1.slice(2)}`, '--force']);
            assert.match(older.stdout, new RegExp(`Saving to file '${join(plain, name)}'`));
            assert.ok(readFileSync(join(plain, name)).equals(first), `${encrypt}: older session byte-identical`);

            // The newest over the volume itself (it was changed since), then paired again.
            writeAt(path, 5 * CS, keystream(`${encrypt}-junk`, 100));
            await archive.receive([name], []);
            assert.ok(readFileSync(path).equals(second), `${encrypt}: newest session byte-identical`);

            writeAt(path, 6 * CS + 7, keystream(`${encrypt}-6`, 50));
            const next = await archive.send([name]);
            assert.doesNotMatch(next.stdout, /Queuing full scan/, `${encrypt}: the send after the receive is incremental`);
            const last = sessionsIn(vid).at(-1) as string;
            assert.deepEqual(
              chunkFiles(vid, last).map((f) => f.slice(-17)),
              [addr(6)],
              'only the chunk changed after the receive is stored',
            );
            // And back to the first session from the new pairing, reading only what changed since.
            const diff = await archive.receive([name], ['--use-snapshot-diff', `--session=${s1.slice(2)}`]);
            assert.match(diff.stdout, /Using snapshot as baseline\./);
            assert.ok(readFileSync(path).equals(first), `${encrypt}: --use-snapshot-diff byte-identical`);
          }
        }
      });
    });
  });
}

describe('receive --local: several volumes, snapshots, bad input (btrfs)', () => {
  it('several volumes and --all in one run; a failing one gives the exit-2 summary and the others are restored', async (t) => {
    if (!requireSystem(t, FS_TOOLS.btrfs)) return;
    await withLoopFs('btrfs', scratch.dir, 200, async ({ local }) => {
      const archive = testArchive(local, 'btrfs');
      await archive.init();
      mkdirSync(join(local, 'a'));
      const images = new Map([
        ['a/one.img', makeVolume('one', CS, 3)],
        ['two.img', makeVolume('two', CS, 4)],
        ['three.img', makeVolume('three', CS, 2, 9)],
      ]);
      for (const [name, bytes] of images) writeFileSync(join(local, name), bytes);
      await archive.send([...images.keys()], ['--tag=first']);
      // --save-to wins over --local (as in Wyng), with a ^tag session; only one volume then.
      const saved = join(scratch.dir, 'saved-two.img');
      await archive.receive(['two.img'], [`--save-to=${saved}`, '--session=^first']);
      assert.ok(readFileSync(saved).equals(images.get('two.img') as Buffer));
      const two = await archive.receive(['--all'], [`--save-to=${saved}`], 9);
      assert.match(two.stderr, /Specify one volume for receive --save-to\./);
      for (const name of images.keys()) rmSync(join(local, name));
      rmSync(join(local, 'a'), { recursive: true });

      const some = await archive.receive(['a/one.img', 'two.img'], []);
      assert.match(some.stdout, /Receiving volume 'a\/one\.img'/);
      assert.match(some.stdout, /Receiving volume 'two\.img'/);
      assert.ok(readFileSync(join(local, 'a/one.img')).equals(images.get('a/one.img') as Buffer));
      assert.ok(readFileSync(join(local, 'two.img')).equals(images.get('two.img') as Buffer));

      // 'a' is now a file where a directory is needed: a/one.img fails, the others are restored.
      rmSync(join(local, 'a'), { recursive: true });
      writeFileSync(join(local, 'a'), 'in the way');
      rmSync(join(local, 'two.img'));
      const all = await archive.receive(['--all'], [], 2);
      assert.match(all.stderr, /Error on volumes: a\/one\.img/);
      assert.equal(readFileSync(join(local, 'a'), 'utf8'), 'in the way', 'nothing written over the file');
      assert.ok(readFileSync(join(local, 'two.img')).equals(images.get('two.img') as Buffer));
      assert.ok(readFileSync(join(local, 'three.img')).equals(images.get('three.img') as Buffer));
    });
  });

  it('--use-snapshot of the newest session reads no chunk; --use-snapshot(-diff) of an older one; --req-snapshot without a pair', async (t) => {
    if (!requireSystem(t, FS_TOOLS.btrfs)) return;
    await withLoopFs('btrfs', scratch.dir, 200, async ({ local }) => {
      const archive = testArchive(local, 'btrfs');
      const name = 'v.img';
      const path = join(local, name);
      await archive.init();
      writeFileSync(path, makeVolume('snap', CS, 8, 100));
      await archive.send([name]);
      const first = readFileSync(path);
      writeAt(path, 3 * CS, keystream('snap-3', 5000));
      writeAt(path, 4 * CS, keystream('snap-4', 10));
      await archive.send([name]);
      const second = readFileSync(path);
      const [vid] = vidDirs(archive.dir) as [string];
      const [s1] = sessionsIn(vid) as [string];

      // Newest from the paired snapshot: every chunk file hidden, still restored.
      writeAt(path, 0, keystream('damage', CS));
      let restore = hideChunks(archive.dir, join(scratch.dir, 'aside-1'));
      const instant = await archive.receive([name], ['--use-snapshot']);
      restore();
      assert.match(instant.stdout, /Snapshot retrieved\./);
      assert.ok(readFileSync(path).equals(second), 'newest from the snapshot, byte-identical');
      // --req-snapshot implies --use-snapshot; alone, an older session is not served from it (as Wyng).
      const reqOlder = await archive.receive([name], ['--req-snapshot', `--session=${s1.slice(2)}`], 2);
      assert.match(reqOlder.stderr, new RegExp(`Error: Snapshot not available for 'v\\.img' ${s1}\\.`));
      assert.ok(readFileSync(path).equals(second), 'nothing written');
      const reqNewest = await archive.receive([name], ['--req-snapshot']);
      assert.match(reqNewest.stdout, /Snapshot retrieved\./);

      // An older session, differential: only chunks 3 and 4 (changed later) are read from S1.
      restore = hideChunks(archive.dir, join(scratch.dir, 'aside-2'), (f) => f.includes(s1) && /x0+(3|4)0000$/.test(f));
      const diff = await archive.receive([name], ['--use-snapshot-diff', `--session=${s1.slice(2)}`]);
      restore();
      assert.match(diff.stdout, /Using snapshot as baseline\./);
      assert.ok(readFileSync(path).equals(first), 'older session via --use-snapshot-diff byte-identical');

      // --use-snapshot of an older session: a full receive over the snapshot copy.
      writeAt(path, 7 * CS, keystream('junk', 100));
      await archive.receive([name], ['--use-snapshot', `--session=${s1.slice(2)}`]);
      assert.ok(readFileSync(path).equals(first), 'older session via --use-snapshot byte-identical');

      // No pair any more (snapshot removed): --use-snapshot falls back, --req-snapshot refuses.
      for (const f of readdirSync(local)) if (f.endsWith('.skiff1')) rmSync(join(local, f), { force: true });
      writeFileSync(path, 'changed');
      const refused = await archive.receive([name], ['--req-snapshot', '--use-snapshot'], 2);
      assert.match(refused.stderr, new RegExp(`Error: Snapshot not available for 'v\\.img' ${sessionsIn(vid).at(-1)}\\.`));
      assert.equal(readFileSync(path, 'utf8'), 'changed', 'nothing written');
      await archive.receive([name], ['--use-snapshot']);
      assert.ok(readFileSync(path).equals(second), 'fallback: a normal receive');

      // Paired again by that receive; monitor then folds a change in (paired state "D"): the
      // snapshot no longer holds the session, so it is not used.
      writeAt(path, 1 * CS, keystream('after-monitor', 100));
      await archive.skiff(['monitor', name, `--local=${local}`]);
      const dirty = await archive.receive([name], ['--req-snapshot'], 2);
      assert.match(dirty.stderr, /Error: Snapshot not available for 'v\.img'/);
    });
  });

  it('--use-snapshot-diff to a session before a shrink reads the chunks past the smaller size, and no other', async (t) => {
    if (!requireSystem(t, FS_TOOLS.btrfs)) return;
    await withLoopFs('btrfs', scratch.dir, 200, async ({ local }) => {
      const archive = testArchive(local, 'btrfs');
      const path = join(local, 'shrink.img');
      await archive.init();
      writeFileSync(path, Buffer.concat([keystream('shrink', 8 * CS + 100)]));
      await archive.send(['shrink.img']);
      const first = readFileSync(path);
      truncateSync(path, 5 * CS + 10);
      await archive.send(['shrink.img']);
      const [vid] = vidDirs(archive.dir) as [string];
      const [s1] = sessionsIn(vid) as [string];
      // Chunks 5 (cut in the middle) to 8 are read from S1; 0 to 4 come from the snapshot.
      const restore = hideChunks(archive.dir, join(scratch.dir, 'aside-shrink'), (f) => f.includes(s1) && /x0+[5-8]0000$/.test(f));
      try {
        await archive.receive(['shrink.img'], ['--use-snapshot-diff', `--session=${s1.slice(2)}`]);
      } finally {
        restore();
      }
      assert.ok(readFileSync(path).equals(first), 'grown back to the first session, byte-identical');
    });
  });

  it('a volume file locked by another process (a running VM): one line, exit 2, the file untouched', async (t) => {
    if (!requireSystem(t, [...FS_TOOLS.btrfs, 'flock'])) return;
    await withLoopFs('btrfs', scratch.dir, 200, async ({ local }) => {
      const archive = testArchive(local, 'btrfs');
      await archive.init();
      const path = join(local, 'busy.img');
      writeFileSync(path, makeVolume('busy', CS, 3));
      await archive.send(['busy.img']);
      writeFileSync(path, 'in use');
      // Its own process group: flock and its sleep are ended together (the sleep holds the file too).
      const holder = spawn('flock', ['-x', path, 'sleep', '60'], { stdio: 'ignore', detached: true });
      const ended = new Promise((resolve) => holder.on('exit', resolve));
      try {
        // Wait until the lock is there (flock takes it before it starts sleep).
        for (let i = 0; i < 100 && !readFileSync('/proc/locks', 'utf8').includes(` ${holder.pid} `); i++) await delay(50);
        const r = await archive.receive(['busy.img'], [], 2);
        assert.match(r.stderr, new RegExp(`busy\\.img' is in use: locked by process ${holder.pid}`));
        assert.match(r.stderr, /Error on volumes: busy\.img/);
      } finally {
        process.kill(-(holder.pid ?? 0), 'SIGKILL');
        await ended;
      }
      assert.equal(readFileSync(path, 'utf8'), 'in use');
    });
  });

  it('a target on a read-only file system: one line, exit 2, nothing damaged', async (t) => {
    if (!requireSystem(t, FS_TOOLS.btrfs)) return;
    await withLoopFs('btrfs', scratch.dir, 200, async ({ local, root }) => {
      const archive = testArchive(local, 'btrfs');
      await archive.init();
      const bytes = makeVolume('ro', CS, 3);
      writeFileSync(join(local, 'r.img'), bytes);
      await archive.send(['r.img']);
      writeFileSync(join(local, 'r.img'), 'local');
      const ro = join(root, 'ro-view');
      mkdirSync(ro);
      execFileSync('mount', ['--bind', local, ro]);
      try {
        execFileSync('mount', ['-o', 'remount,bind,ro', ro]);
        const r = await archive.skiff(['receive', 'r.img', `--local=${ro}`, '--force'], 2);
        const errors = r.stderr.split('\n').filter((l) => l.trim() !== '');
        assert.ok(
          errors.some((l) => /Read-only file system|EROFS/.test(l)),
          r.stderr,
        );
        assert.match(r.stderr, /Error on volumes: r\.img/);
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      } finally {
        execFileSync('umount', [ro]);
      }
      assert.equal(readFileSync(join(local, 'r.img'), 'utf8'), 'local');
      assert.ok(!existsSync(join(local, '.r.img.skiff-receive')), 'no temporary left');
    });
  });
});
