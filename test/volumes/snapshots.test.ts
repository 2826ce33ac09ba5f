// The local side of rename and delete, on a real Btrfs subvolume (loop device): rename keeps the
// snapshot paired with the volume (moving it when the directory changes) so the next send is not
// a full scan, or drops it when the new name has no local file; delete removes the volume's
// snapshots; delete --clean / --purge / --clean --all remove exactly the snapshots §2.6 says.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { VolumeId } from '../../source-agent/archive/names.js';
import { LocalStore } from '../../source-agent/store/local-store.js';
import { scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { FS_TOOLS, withLoopFs } from '../helpers/loop-fs.js';
import { requireSystem } from '../helpers/system.js';
import { makeVolume } from '../helpers/volumes.js';
import { openArchive, volumeNames } from './archive-fixture.js';

const { dir, cleanup } = scratchDir('skiff-volume-snapshots-');
after(cleanup);

describe('local snapshots on rename, delete and delete --clean (Btrfs)', () => {
  it('keeps, moves, drops and removes exactly the right snapshots', async (t) => {
    if (!requireSystem(t, FS_TOOLS.btrfs)) return;
    await withLoopFs('btrfs', dir, 200, async ({ local }) => {
      const archiveDir = join(dir, 'archive');
      const skiff = (...args: string[]) =>
        runSkiffInProcess([
          ...args,
          `--dest=file:${archiveDir}`,
          `--meta-dir=${join(dir, 'meta')}`,
          ...(args[0] === 'arch-init' ? [] : [`--local=${local}`]),
        ]);
      const ok = async (...args: string[]) => {
        const result = await skiff(...args);
        assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
        return result;
      };
      mkdirSync(join(local, 'sub'));
      writeFileSync(join(local, 'a.img'), makeVolume('snap-a', 65536, 8));
      writeFileSync(join(local, 'sub/b.img'), makeVolume('snap-b', 65536, 8));
      writeFileSync(join(local, 'c.img'), makeVolume('snap-c', 65536, 4));
      await ok('arch-init', '--encrypt=off');
      await ok('send', 'a.img', 'sub/b.img', 'c.img');
      const archive = await openArchive(new LocalStore(archiveDir), null);
      const uuid = archive.ini.uuid;
      const vids = await volumeNames(archive);
      const snap = (where: string, name: string) => join(local, where, `sk${uuid}_${vids.get(name) as VolumeId}.skiff1`);
      assert.ok(existsSync(snap('', 'a.img')) && existsSync(snap('sub', 'sub/b.img')));

      // Same directory, local file renamed too: the snapshot keeps its name and its pairing.
      renameSync(join(local, 'a.img'), join(local, 'a2.img'));
      await ok('rename', 'a.img', 'a2.img');
      assert.ok(existsSync(snap('', 'a.img')));
      assert.doesNotMatch((await ok('send', 'a2.img')).stdout, /Queuing full scan/);

      // Another directory: the snapshot moves next to the volume, still paired.
      mkdirSync(join(local, 'other'));
      renameSync(join(local, 'sub/b.img'), join(local, 'other/b.img'));
      await ok('rename', 'sub/b.img', 'other/b.img', '--verbose');
      assert.ok(!existsSync(snap('sub', 'sub/b.img')));
      assert.ok(existsSync(snap('other', 'sub/b.img')));
      assert.doesNotMatch((await ok('send', 'other/b.img')).stdout, /Queuing full scan/);

      // No local file under the new name: the snapshot is dropped (the next send reads all).
      await ok('rename', 'a2.img', 'gone.img');
      assert.ok(!existsSync(snap('', 'a.img')));

      // delete removes the volume's snapshot.
      const bSnapshot = snap('other', 'sub/b.img');
      await ok('delete', 'other/b.img');
      assert.ok(!existsSync(bSnapshot));

      // --clean: only this archive's snapshots that no volume is paired with.
      const current = snap('', 'c.img');
      const stray = join(local, 'sub', `sk${uuid}_Vol_abcdef.skiff1`);
      const stale = join(local, `sk${uuid}_${vids.get('c.img') as VolumeId}.skiff2`);
      const foreign = join(local, 'sub', 'sk11111111-2222-4333-8444-555555555555_Vol_123456.skiff1');
      const unrelated = join(local, 'sknot-a-snapshot.skiff1');
      for (const path of [stray, stale, foreign, unrelated]) writeFileSync(path, 'x');
      await ok('delete', '--clean', '--force');
      assert.deepEqual([current, stray, stale, foreign, unrelated].map(existsSync), [true, false, false, true, true]);
      await ok('delete', '--purge=other', '--force');
      assert.deepEqual([current, foreign, unrelated].map(existsSync), [true, false, true]);
      await ok('delete', '--purge=full', '--force');
      assert.ok(!existsSync(current));
      writeFileSync(foreign, 'x');
      writeFileSync(stray, 'x');
      const all = await ok('delete', '--clean', '--all', '--force', '--verbose');
      assert.match(all.stdout, /Remove local Skiff snapshots from path/);
      assert.deepEqual([foreign, stray, unrelated].map(existsSync), [false, false, true]);
      assert.match((await ok('send', 'c.img')).stdout, /Queuing full scan of 'c.img'/);
    });
  });
});
