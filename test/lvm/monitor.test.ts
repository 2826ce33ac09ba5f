// monitor between sends, for a thin pool (the model: the kernel side is modelled, thin_delta is
// real) and for a Btrfs reflink pool (a loop device): each run folds the changes since the paired
// snapshot into the deltamap and rotates (the old snapshot is gone), and the next send stores
// exactly the chunks changed since the session — those monitor saw and those after it — and
// restores byte-identical.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { FS_TOOLS, withLoopFs } from '../helpers/loop-fs.js';
import { requireSystem } from '../helpers/system.js';
import { writeAt } from '../helpers/volumes.js';
import { assertCode, BLOCK, CHUNK, MiB, withLvmSendBed } from './lvm-fixture.js';

describe('monitor', () => {
  it('LVM: folds changes into the deltamap and rotates; the next send stores exactly the changed chunks', (t) =>
    withLvmSendBed(t, async (bed) => {
      const { m, vg } = bed;
      bed.createVolume('vm-work-private', 4 * MiB);
      bed.createVolume('vm-new', 4 * MiB);
      bed.createVolume('vm-other', 4 * MiB);
      const monitor = (names: string[]) => bed.skiff(['monitor', ...names, `--local=${bed.local}`]);
      assertCode(await bed.send(['vm-work-private', 'vm-other']), 0);
      const first = Buffer.from(bed.expected.get('vm-work-private') as Buffer);
      const sessionTag = bed.lv('vm-work-private.skiff1')?.tags.find((tag) => tag.startsWith('S_'));
      const firstSnapshotId = bed.lv('vm-work-private.skiff1')?.thinId;

      bed.write('vm-work-private', 2 * BLOCK, randomBytes(100)); // chunk 1
      const eventsBefore = m.state().events.length;
      const one = await monitor(['vm-work-private', 'vm-other', 'vm-new']);
      assertCode(one, 0);
      assert.match(
        one.stdout,
        /'\.\.\.\nAcquiring deltas\.\n\nMonitor at \d{8}-\d{6}:\n—{50}\nVolume 'vm-work-private'\n {2}1 ch, 0 dis\nVolume 'vm-other'\n {2}no change\n\n$/,
      );
      assert.deepEqual(
        m
          .state()
          .events.slice(eventsBefore)
          .map((e) => `${e.op}${e.ok ? '' : ' (failed)'}`),
        ['reserve_metadata_snap', 'thin_delta', 'thin_delta', 'release_metadata_snap'],
        'one reservation and one release for the two paired volumes',
      );
      // vm-new is not in the archive: Wyng's line for an unknown name (§1.2 step 14), before the work.
      assert.match(one.stdout, /\nVolume 'vm-new' not found; Skipping\.\n\nPreparing snapshots in /);
      assert.doesNotMatch(one.stderr, /vm-new/);
      const snap = bed.lv('vm-work-private.skiff1');
      assert.ok(snap?.tags.includes('delta') && snap.tags.includes(sessionTag ?? '?') && snap.tags.some((tag) => /^delta-\d+$/.test(tag)));
      assert.notEqual(snap?.thinId, firstSnapshotId, 'rotated: the sent snapshot is gone');
      assert.ok(!Object.values(m.state().vgs[vg]?.lvs ?? {}).some((lv) => lv.kind === 'thin' && lv.thinId === firstSnapshotId));

      bed.write('vm-work-private', 20 * BLOCK, randomBytes(100)); // chunk 10
      bed.write('vm-work-private', 2 * BLOCK + 500, randomBytes(100)); // chunk 1 again: not new
      assert.match((await monitor(['vm-work-private'])).stdout, /Volume 'vm-work-private'\n {2}1 ch, 0 dis\n/);
      assert.match((await monitor(['vm-work-private'])).stdout, /Volume 'vm-work-private'\n {2}no change\n/);

      // Chunk 31, after the last monitor: its last byte inverted (a random byte is the same one in
      // 1 of 256 runs, and then nothing changed: seen in a full run).
      const lastByte = (bed.expected.get('vm-work-private') as Buffer)[4 * MiB - 1] as number;
      bed.write('vm-work-private', 4 * MiB - 1, Buffer.from([lastByte ^ 0xff]));
      const sent = await bed.send(['vm-work-private']);
      assertCode(sent, 0);
      assert.doesNotMatch(sent.stdout, /Queuing full scan/);
      assert.deepEqual((await bed.chunkCounts()).get('vm-work-private'), [32, 3], 'chunks 1, 10 and 31');
      await bed.assertSessions(new Map([['vm-work-private', [first, bed.expected.get('vm-work-private') as Buffer]]]));
      const second = Buffer.from(bed.expected.get('vm-work-private') as Buffer);
      // The send emptied the map: the next send after one more change stores one chunk.
      bed.write('vm-work-private', 5 * BLOCK, randomBytes(10));
      assertCode(await bed.send(['vm-work-private']), 0);
      assert.deepEqual((await bed.chunkCounts()).get('vm-work-private'), [32, 3, 1]);
      await bed.assertSessions(new Map([['vm-work-private', [first, second, bed.expected.get('vm-work-private') as Buffer]]]));
    }));

  it('reflink (Btrfs): folds changes into the deltamap and rotates; the next send stores exactly the changed chunks', async (t) => {
    if (!requireSystem(t, FS_TOOLS.btrfs)) return;
    const work = mkdtempSync(join(tmpdir(), 'skiff-monitor-'));
    try {
      await withLoopFs('btrfs', work, 200, async ({ local }) => {
        const common = [`--dest=file:${join(work, 'archive')}`, `--meta-dir=${join(work, 'meta')}`];
        const skiff = (...args: string[]) => runSkiffInProcess([...args, ...common]);
        assertCode(await skiff('arch-init', '--encrypt=off', '--chunk-factor=2'), 0);
        const volume = join(local, 'vol.img');
        const first = randomBytes(4 * MiB);
        writeFileSync(volume, first);
        assertCode(await skiff('send', 'vol.img', `--local=${local}`), 0);
        const snapshots = () => readdirSync(local).filter((n) => n.endsWith('.skiff1'));
        const [snapshot] = snapshots();

        const expected = Buffer.from(first);
        const change = (offset: number, length: number) => {
          const data = randomBytes(length);
          writeAt(volume, offset, data);
          data.copy(expected, offset);
        };
        const pairedInode = statSync(join(local, snapshot as string)).ino;
        change(CHUNK + 10, 100);
        const one = await skiff('monitor', 'vol.img', `--local=${local}`);
        assertCode(one, 0);
        assert.match(one.stdout, /Volume 'vol\.img'\n {2}1 ch, 0 dis\n/);
        assert.deepEqual(snapshots(), [snapshot as string], 'rotated under the same name');
        // The old snapshot file is gone (its extents released): the name now holds the new one.
        assert.notEqual(statSync(join(local, snapshot as string)).ino, pairedInode, 'the old snapshot was replaced');
        change(9 * CHUNK, 100);
        assert.match((await skiff('monitor', 'vol.img', `--local=${local}`)).stdout, /1 ch, 0 dis/);
        assert.match((await skiff('monitor', 'vol.img', `--local=${local}`)).stdout, /no change/);

        // Untouched since the last monitor: sent from the paired snapshot with the map.
        const sent = await skiff('send', 'vol.img', `--local=${local}`);
        assertCode(sent, 0);
        const archive = join(work, 'archive');
        const vid = readdirSync(archive).find((n) => n.startsWith('Vol_')) as string;
        const sessions = readdirSync(join(archive, vid))
          .filter((n) => n.startsWith('S_'))
          .sort();
        const chunks = (s: string) =>
          readdirSync(join(archive, vid, s), { recursive: true, withFileTypes: true }).filter(
            (e) => e.isFile() && /^x[0-9a-f]{16}$/.test(e.name),
          ).length;
        assert.deepEqual(
          sessions.map((s) => chunks(s)),
          [32, 2],
        );
        const target = join(work, 'restored.img');
        assertCode(await skiff('receive', 'vol.img', `--save-to=${target}`), 0);
        assert.ok(readdirSync(work).includes('restored.img'));
        assert.ok(readFileSync(target).equals(expected), 'restores byte-identical');
      });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
