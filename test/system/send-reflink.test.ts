// send from real Btrfs and XFS file systems on loop devices, through the built CLI: full and
// incremental sessions in every cipher mode and compression, growth, shrink and permission
// changes, exact counts of stored chunks, lost snapshots, unchanged volumes and dry runs; every
// session restores byte-identical.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type CliResult, scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { FS_TOOLS, type FsType, withLoopFs } from '../helpers/loop-fs.js';
import { requireSystem } from '../helpers/system.js';
import { keystream, makeVolume, writeAt } from '../helpers/volumes.js';

const scratch = scratchDir('skiff-send-');
after(scratch.cleanup);
const PASSPHRASE = 'system-test-passphrase';

interface Config {
  encrypt: string;
  compression: string;
  chunkFactor: number;
}

const CONFIGS: Config[] = [
  { encrypt: 'xchacha20-dgr', compression: 'zstd', chunkFactor: 3 },
  { encrypt: 'xchacha20-msr', compression: 'bz2', chunkFactor: 2 },
  { encrypt: 'xchacha20-ct', compression: 'zlib', chunkFactor: 1 },
  { encrypt: 'off', compression: 'zstd:7', chunkFactor: 1 },
  { encrypt: 'off', compression: 'zlib:9', chunkFactor: 2 },
  { encrypt: 'off', compression: 'bz2:1', chunkFactor: 1 },
];

let archiveCounter = 0;

/** An archive under test: runs skiff with its --dest, --meta-dir, passphrase and a key agent. */
function testArchive(local: string, fsType: FsType, config: Config) {
  const n = archiveCounter++;
  const dir = join(scratch.dir, `archive-${n}`);
  const meta = join(scratch.dir, `meta-${n}`);
  const common = [`--dest=file:${dir}`, `--meta-dir=${meta}`, '--authmin=1', `--passcmd=echo ${PASSPHRASE}`];
  const vouch = fsType === 'xfs' ? ['--vouch=reflink_fs_xfs', '--vouch=fs_online_factors'] : [];
  const skiff = async (args: string[], expectCode = 0): Promise<CliResult> => {
    const r = await runSkiffInProcess([...args, ...common]);
    assert.equal(r.code, expectCode, `skiff ${args.join(' ')} → ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  return {
    dir,
    skiff,
    init: () =>
      skiff(['arch-init', `--encrypt=${config.encrypt}`, `--compression=${config.compression}`, `--chunk-factor=${config.chunkFactor}`]),
    send: (names: string[], extra: string[] = [], expectCode = 0) =>
      skiff(['send', ...names, `--local=${local}`, ...vouch, ...extra], expectCode),
    stopAgent: () => runSkiffInProcess(['list', ...common, '--authmin=-1']),
  };
}

function vidDir(archive: string): string {
  const vids = readdirSync(archive).filter((n) => n.startsWith('Vol_'));
  assert.equal(vids.length, 1, `one volume expected in ${archive}`);
  return join(archive, vids[0] as string);
}

/** Session names of the single volume, in name order (they increase within a test). */
function sessionsOf(archive: string): string[] {
  return readdirSync(vidDir(archive))
    .filter((n) => n.startsWith('S_'))
    .sort();
}

/** Chunk files stored in a session directory. */
function chunkFiles(archive: string, session: string): string[] {
  const dir = join(vidDir(archive), session);
  return readdirSync(dir)
    .filter((d) => /^[0-9a-f]{9}$/.test(d))
    .flatMap((d) => readdirSync(join(dir, d)).map((f) => `${d}/${f}`))
    .sort();
}

async function expectRestores(archive: ReturnType<typeof testArchive>, volume: string, images: Map<string, Buffer>): Promise<void> {
  for (const [session, image] of images) {
    const target = join(scratch.dir, `restore-${archiveCounter}-${session}.img`);
    await archive.skiff(['receive', volume, `--session=${session.slice(2)}`, `--save-to=${target}`]);
    assert.ok(readFileSync(target).equals(image), `${volume} ${session} is not byte-identical`);
    rmSync(target);
  }
}

for (const fsType of ['btrfs', 'xfs'] as const) {
  describe(`send from ${fsType}`, () => {
    it('full, incremental, grown, shrunk and chmod-ed sessions round-trip in every cipher mode and compression', async (t) => {
      if (!requireSystem(t, FS_TOOLS[fsType])) return;
      await withLoopFs(fsType, scratch.dir, 400, async ({ local }) => {
        for (const config of CONFIGS) {
          const archive = testArchive(local, fsType, config);
          const cs = 32768 * 2 ** config.chunkFactor;
          const path = join(local, `vol-${CONFIGS.indexOf(config)}.img`);
          const volume = path.slice(local.length + 1);
          const images = new Map<string, Buffer>();
          const snap = () => readFileSync(path);
          try {
            await archive.init();
            writeFileSync(path, makeVolume(`${fsType}-${config.encrypt}`, cs, 24, 1000));
            await archive.send([volume]);
            const [first] = sessionsOf(archive.dir) as [string];
            images.set(first, snap());
            // 24 chunks + a tail: 6 zero chunks (index % 4 == 1) are not stored.
            assert.equal(chunkFiles(archive.dir, first).length, 25 - 6, 'first session chunk files');

            // In-place changes: a partial write in chunk 2, a block in chunk 5, chunk 8 zeroed.
            writeAt(path, 2 * cs + 100, keystream('c2', 5000));
            writeAt(path, 5 * cs, keystream('c5', 4096));
            writeAt(path, 8 * cs, Buffer.alloc(cs));
            await archive.send([volume], ['--tag=inc,incremental']);
            const second = sessionsOf(archive.dir).at(-1) as string;
            images.set(second, snap());
            const addr = (i: number) => `x${(i * cs).toString(16).padStart(16, '0')}`;
            assert.deepEqual(
              chunkFiles(archive.dir, second).map((f) => f.slice(10)),
              [addr(2), addr(5)],
              'exactly the changed data chunks are stored',
            );

            // Growth by two chunks and a tail; the old partial last chunk becomes full.
            const grown = Buffer.concat([snap(), keystream('grow', 2 * cs + 500)]);
            writeFileSync(path, grown);
            await archive.send([volume]);
            images.set(sessionsOf(archive.dir).at(-1) as string, snap());

            // Shrink to a chunk boundary without changing data (Wyng 0.8 writes a wrong mfcs here).
            truncateSync(path, 10 * cs);
            await archive.send([volume]);
            const shrunk = sessionsOf(archive.dir).at(-1) as string;
            images.set(shrunk, snap());
            assert.deepEqual(chunkFiles(archive.dir, shrunk), [], 'a pure shrink stores no chunk');

            // Permissions only.
            chmodSync(path, 0o600);
            const chmodSend = await archive.send([volume]);
            const chmodded = sessionsOf(archive.dir).at(-1) as string;
            images.set(chmodded, snap());
            assert.notEqual(chmodded, shrunk, `a permission change makes a session (${JSON.stringify(config)}): ${chmodSend.stdout}`);

            // Unchanged: no new session.
            const before = sessionsOf(archive.dir).length;
            const unchanged = await archive.send([volume]);
            assert.match(unchanged.stdout, /no change/);
            assert.equal(sessionsOf(archive.dir).length, before);

            await expectRestores(archive, volume, images);
            const verify = await archive.skiff(['verify', volume]);
            assert.doesNotMatch(verify.stderr, /checksum/, 'no mfcs warning: Skiff stores the true CRC');
            await archive.skiff(['arch-check']);
            const listing = await archive.skiff(['list', volume, '--verbose']);
            assert.match(listing.stdout, / tag: inc, incremental/);
          } finally {
            await archive.stopAgent();
          }
        }
      });
    });

    it('after a lost snapshot, reads everything but stores only the chunks that differ', async (t) => {
      if (!requireSystem(t, FS_TOOLS[fsType])) return;
      await withLoopFs(fsType, scratch.dir, 200, async ({ local }) => {
        const archive = testArchive(local, fsType, { encrypt: 'off', compression: 'zstd', chunkFactor: 1 });
        const cs = 65536;
        const path = join(local, 'sub', 'dir', 'v.img');
        await archive.init();
        mkdirSync(join(local, 'sub', 'dir'), { recursive: true });
        writeFileSync(path, makeVolume('lost', cs, 40));
        await archive.send(['sub/dir/v.img']);
        const snapshots = readdirSync(join(local, 'sub', 'dir')).filter((n) => n.endsWith('.skiff1'));
        assert.equal(snapshots.length, 1, 'the snapshot sits next to the volume');
        rmSync(join(local, 'sub', 'dir', snapshots[0] as string));
        writeAt(path, 17 * cs + 10, keystream('lost-change', 100));
        const r = await archive.send(['sub/dir/v.img']);
        assert.match(r.stdout, /Queuing full scan of 'sub\/dir\/v\.img'/);
        const last = sessionsOf(archive.dir).at(-1) as string;
        assert.deepEqual(chunkFiles(archive.dir, last), [`000000000/x${(17 * cs).toString(16).padStart(16, '0')}`]);
        const target = join(scratch.dir, 'lost.img');
        await archive.skiff(['receive', 'sub/dir/v.img', `--save-to=${target}`]);
        assert.ok(readFileSync(target).equals(readFileSync(path)));
      });
    });

    it('--dry-run changes nothing; --send-unchanged makes an empty session', async (t) => {
      if (!requireSystem(t, FS_TOOLS[fsType])) return;
      await withLoopFs(fsType, scratch.dir, 200, async ({ local }) => {
        const archive = testArchive(local, fsType, { encrypt: 'off', compression: 'zstd', chunkFactor: 1 });
        await archive.init();
        writeFileSync(join(local, 'd.img'), makeVolume('dry', 65536, 16));
        // Every file of the archive with its size and content hash: a dry run must change none.
        const tree = () =>
          readdirSync(archive.dir, { recursive: true })
            .map(String)
            .sort()
            .map((p) => {
              const full = join(archive.dir, p);
              return statSync(full).isFile() ? `${p} ${createHash('sha256').update(readFileSync(full)).digest('hex')}` : p;
            });
        const dry = await archive.send(['d.img'], ['--dry-run']);
        assert.match(dry.stdout, /Dry run \(not sending\):/);
        assert.match(dry.stdout, /1 volumes, 1——>0 MB/);
        assert.deepEqual(readdirSync(archive.dir).sort(), ['.hardlink', 'archive.dat', 'archive.ini', 'archive.ini.bak']);
        assert.deepEqual(readdirSync(local).sort(), ['d.img'], 'no snapshot left behind');
        await archive.send(['d.img']);
        const before = tree();
        const again = await archive.send(['d.img'], ['--dry-run']);
        assert.match(again.stdout, /no change/);
        assert.deepEqual(tree(), before);
        await archive.send(['d.img'], ['--send-unchanged']);
        const last = sessionsOf(archive.dir).at(-1) as string;
        assert.equal(sessionsOf(archive.dir).length, 2);
        assert.deepEqual(chunkFiles(archive.dir, last), []);
        assert.ok(!existsSync(join(vidDir(archive.dir), last, 'manifest.z')), 'an empty session has no manifest file');
        await archive.skiff(['verify', 'd.img']);
      });
    });
  });
}

describe('send: bad local storage and bad names', () => {
  it('refuses a Btrfs directory that is not a subvolume, and ext4 (exit 7); the archive stays unchanged', async (t) => {
    if (!requireSystem(t, [...FS_TOOLS.btrfs, ...FS_TOOLS.ext4])) return;
    await withLoopFs('btrfs', scratch.dir, 200, async ({ root }) => {
      const archive = testArchive(root, 'btrfs', { encrypt: 'off', compression: 'zstd', chunkFactor: 1 });
      await archive.init();
      const ini = readFileSync(join(archive.dir, 'archive.ini'));
      const plainDir = join(root, 'plain');
      mkdirSync(plainDir);
      writeFileSync(join(plainDir, 'v.img'), 'x');
      const r = await archive.skiff(['send', 'v.img', `--local=${plainDir}`], 7);
      assert.match(r.stderr, /Local not a subvolume or no snapshot feature: \(btrfs\)/);
      assert.ok(readFileSync(join(archive.dir, 'archive.ini')).equals(ini));
    });
    await withLoopFs('ext4', scratch.dir, 64, async ({ root }) => {
      const archive = testArchive(root, 'ext4', { encrypt: 'off', compression: 'zstd', chunkFactor: 1 });
      await archive.init();
      writeFileSync(join(root, 'v.img'), 'x');
      const r = await archive.skiff(['send', 'v.img', `--local=${root}`], 7);
      assert.match(r.stderr, /Local not a subvolume or no snapshot feature: \(ext4\)/);
      const vouched = await archive.skiff(['send', 'v.img', `--local=${root}`, '--vouch=reflink_fs_ext4', '--vouch=fs_online_factors'], 7);
      assert.match(vouched.stderr, /cannot make reflink copies/);
    });
  });

  it('refuses unsafe volume names (exit 9) and reports a missing volume (exit 2)', async (t) => {
    if (!requireSystem(t, FS_TOOLS.btrfs)) return;
    await withLoopFs('btrfs', scratch.dir, 200, async ({ local }) => {
      const archive = testArchive(local, 'btrfs', { encrypt: 'off', compression: 'zstd', chunkFactor: 1 });
      await archive.init();
      for (const name of ['../etc/passwd', '/abs.img', 'a/./b']) {
        const r = await archive.send([name], [], 9);
        assert.match(r.stderr, /Bad volume name/);
      }
      const missing = await archive.send(['nothere.img'], [], 2);
      assert.match(missing.stderr, /Local '.*nothere\.img' does not exist!/);
      assert.match(missing.stderr, /Error on volumes: nothere\.img/);
      assert.deepEqual(
        readdirSync(archive.dir).filter((n) => n.startsWith('Vol_')),
        [],
      );
    });
  });

  it('a full destination fails the send with exit 5 and keeps every earlier session', async (t) => {
    if (!requireSystem(t, [...FS_TOOLS.btrfs, ...FS_TOOLS.ext4])) return;
    await withLoopFs('btrfs', scratch.dir, 300, async ({ local }) => {
      await withLoopFs('ext4', scratch.dir, 16, async ({ root: small }) => {
        const dir = join(small, 'archive');
        const meta = join(scratch.dir, 'meta-full');
        const common = [`--dest=file:${dir}`, `--meta-dir=${meta}`];
        assert.equal((await runSkiffInProcess(['arch-init', '--encrypt=off', ...common])).code, 0);
        writeFileSync(join(local, 'small.img'), makeVolume('small', 65536, 8));
        assert.equal((await runSkiffInProcess(['send', 'small.img', `--local=${local}`, ...common])).code, 0);
        writeFileSync(join(local, 'big.img'), keystream('big', 40 * 1024 * 1024));
        const full = await runSkiffInProcess(['send', 'big.img', `--local=${local}`, ...common]);
        assert.equal(full.code, 5, full.stderr);
        assert.match(full.stderr, /Destination error: .*(no space|ENOSPC)/i);
        const target = join(scratch.dir, 'small-restored.img');
        assert.equal((await runSkiffInProcess(['receive', 'small.img', `--save-to=${target}`, ...common])).code, 0);
        assert.ok(readFileSync(target).equals(readFileSync(join(local, 'small.img'))));
        assert.equal((await runSkiffInProcess(['arch-check', ...common])).code, 0);
      });
    });
  });
});
