// The reflink delta (extent maps of two snapshots) on real Btrfs, in the cases where comparing
// FIEMAP output naively misses a change or cannot be done: a clone of part of a compressed
// extent (same map, other data), nocow (chattr +C) volumes, and extents that move while the
// maps are read (generation re-check). Each send is checked by restoring it byte-identical.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LocalStorageError } from '../../source-agent/errors.js';
import { frozenExtentMaps, readExtentMap } from '../../source-agent/source/btrfs-frozen-scan.js';
import { changedChunks } from '../../source-agent/source/extent-map.js';
import { kdfMemoEnv, scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { FS_TOOLS, withLoopFs } from '../helpers/loop-fs.js';
import { requireSystem } from '../helpers/system.js';
import { keystream, writeAt } from '../helpers/volumes.js';

Object.assign(process.env, kdfMemoEnv());

const scratch = scratchDir('skiff-scan-safety-');
after(scratch.cleanup);
const KiB = 1024;
const CHUNK = 64 * KiB; // --chunk-factor=1

let archives = 0;
/** An unencrypted archive with 64 KiB chunks, and a send + restore check of volumes under `local`. */
async function testArchive(local: string) {
  const n = archives++;
  const common = [`--dest=file:${join(scratch.dir, `archive-${n}`)}`, `--meta-dir=${join(scratch.dir, `meta-${n}`)}`];
  const skiff = async (args: string[], code = 0) => {
    const r = await runSkiffInProcess([...args, ...common]);
    assert.equal(r.code, code, `skiff ${args.join(' ')} → ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  await skiff(['arch-init', '--encrypt=off', '--chunk-factor=1']);
  return {
    skiff,
    /** Sends `name` and checks that its newest session restores to the volume's bytes now. */
    async sendAndCheck(name: string): Promise<string> {
      const r = await skiff(['send', name, `--local=${local}`]);
      const target = join(scratch.dir, `restored-${n}.img`);
      await skiff(['receive', name, `--save-to=${target}`, '-u']);
      const same = readFileSync(target).equals(readFileSync(join(local, name)));
      rmSync(target);
      assert.ok(same, `the newest session of ${name} is not what the volume held:\n${r.stdout}`);
      return r.stdout;
    },
    /** Chunk files the newest session of the archive's one volume stored. */
    newestChunks(): number {
      const archiveDir = join(scratch.dir, `archive-${n}`);
      const vid = readdirSync(archiveDir).find((f) => f.startsWith('Vol_')) as string;
      const session = readdirSync(join(archiveDir, vid))
        .filter((f) => f.startsWith('S_'))
        .sort()
        .at(-1) as string;
      const dir = join(archiveDir, vid, session);
      return readdirSync(dir)
        .filter((d) => /^[0-9a-f]{9}$/.test(d))
        .flatMap((d) => readdirSync(join(dir, d))).length;
    },
  };
}

/** Compressible text, different for each seed. */
function text(seed: string, length: number): Buffer {
  return Buffer.from(`${seed} `.repeat(Math.ceil(length / (seed.length + 1))).slice(0, length), 'latin1');
}

describe('reflink delta safety on Btrfs', () => {
  it('a clone of part of a compressed extent (identical extent maps, other data) is sent', async (t) => {
    if (!requireSystem(t, [...FS_TOOLS.btrfs, 'xfs_io'])) return;
    await withLoopFs('btrfs', scratch.dir, 200, async ({ root, local }) => {
      execFileSync('mount', ['-o', 'remount,compress-force=zstd', root]);
      const archive = await testArchive(local);
      // One compressed extent of 128 KiB whose halves differ.
      const source = join(local, 'source');
      writeFileSync(source, Buffer.concat([text('first-half', 64 * KiB), text('SECOND-HALF', 64 * KiB)]));
      execFileSync('sync');
      // The volume uses both halves, in place: two references to the one extent.
      const vol = join(local, 'vm.img');
      writeFileSync(vol, '');
      execFileSync('xfs_io', [
        '-c',
        `reflink ${source} 0 0 ${64 * KiB}`,
        '-c',
        `reflink ${source} ${64 * KiB} ${64 * KiB} ${64 * KiB}`,
        vol,
      ]);
      await archive.sendAndCheck('vm.img');
      const mapBefore = await readExtentMap(vol);
      // Now its first half is the extent's second half too: filefrag prints exactly what it
      // printed before (the extent's start, no offset), but chunk 0 holds other data.
      execFileSync('xfs_io', ['-c', `reflink ${source} ${64 * KiB} 0 ${64 * KiB}`, vol]);
      // The hazard's premise: without it this test would pass on a scan that trusts the maps.
      assert.deepEqual(await readExtentMap(vol), mapBefore, 'the extent map did not stay the same');
      await archive.sendAndCheck('vm.img');
    });
  });
  for (const where of ['a copy-on-write directory', 'a nocow directory'] as const) {
    it(`a nocow (chattr +C) volume in ${where} is read whole and compared by hash`, async (t) => {
      if (!requireSystem(t, [...FS_TOOLS.btrfs, 'chattr', 'lsattr'])) return;
      await withLoopFs('btrfs', scratch.dir, 200, async ({ local }) => {
        const archive = await testArchive(local);
        const dir = join(local, 'vms');
        mkdirSync(dir);
        if (where === 'a nocow directory') execFileSync('chattr', ['+C', dir]);
        const vol = join(dir, 'vm.img');
        // +C only takes on an empty file.
        writeFileSync(vol, '');
        execFileSync('chattr', ['+C', vol]);
        writeAt(vol, 0, keystream(where, 8 * CHUNK));
        const first = await archive.sendAndCheck('vms/vm.img');
        assert.match(first, /Queuing full scan of nocow 'vms\/vm\.img'/);
        writeAt(vol, 3 * CHUNK + 5, keystream('change', 100));
        await archive.sendAndCheck('vms/vm.img');
        assert.equal(archive.newestChunks(), 1, 'only the changed chunk is stored');
        // No snapshot is kept for it (nothing would use one), and none is left behind.
        assert.deepEqual(readdirSync(dir), ['vm.img']);
      });
    });
  }
  it('extents moved while the maps are read (balance): the frozen scan sees the generation move and reads them again', async (t) => {
    if (!requireSystem(t, FS_TOOLS.btrfs)) return;
    await withLoopFs('btrfs', scratch.dir, 200, async ({ root, local }) => {
      const vol = join(local, 'vm.img');
      const snap1 = join(local, 'snap1');
      const snap2 = join(local, 'snap2');
      writeFileSync(vol, keystream('moved', 8 * CHUNK));
      copyFileSync(vol, snap1, constants.COPYFILE_FICLONE_FORCE);
      writeAt(vol, 3 * CHUNK + 7, keystream('three', 50));
      copyFileSync(vol, snap2, constants.COPYFILE_FICLONE_FORCE);
      execFileSync('sync');
      const balance = async () => {
        execFileSync('btrfs', ['balance', 'start', '-d', root], { stdio: 'ignore' });
      };
      const marked = (c: Uint8Array) => [...c.keys()].filter((i) => c[i]);

      // Naive: the old map before the move, the new one after: every chunk looks changed.
      const oldMap = await readExtentMap(snap1);
      await balance();
      const naive = changedChunks(oldMap, await readExtentMap(snap2), CHUNK, 8 * CHUNK);
      assert.deepEqual(marked(naive), [0, 1, 2, 3, 4, 5, 6, 7]);

      // Frozen: the move after the first reading raises the generation; the second reading is exact.
      const notes: string[] = [];
      const stale = join(local, '.skiff-scan-999999999-0badcafe');
      execFileSync('btrfs', ['subvolume', 'create', stale], { stdio: 'ignore' });
      const maps = await frozenExtentMaps(local, snap1, snap2, {
        retryDelaysMs: [0, 0, 0],
        afterScan: async (attempt) => {
          if (attempt === 0) await balance();
        },
        note: (text) => notes.push(text),
      });
      assert.ok(maps);
      assert.equal(maps.rescans, 1);
      assert.deepEqual(notes, [' Re-scanning deltas for matching Gen ID...']);
      assert.deepEqual(marked(changedChunks(maps.old, maps.new, CHUNK, 8 * CHUNK)), [3]);

      // Moving on every reading: Wyng's error (exit 7) after three re-scans; nothing left behind.
      await assert.rejects(
        frozenExtentMaps(local, snap1, snap2, { retryDelaysMs: [0, 0, 0], afterScan: balance }),
        (error: unknown) => error instanceof LocalStorageError && error.message === 'Filesystem Generation IDs differ.',
      );
      assert.deepEqual(
        readdirSync(local).filter((n) => n.startsWith('.skiff-scan')),
        [],
        'frozen subvolumes (also a stale one) are deleted',
      );
    });
  });
});
