// Skiff's LVM command layer (source/lvm/lvm-commands.ts, lvm-pool.ts) against the thin-pool model:
// the stand-ins print what LVM, dmsetup and the real thin_delta print. The kernel side is modelled
// (test/lvm-model/README.md).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { LocalStorageError } from '../../source-agent/errors.js';
import { findLvmTools, Lvm } from '../../source-agent/source/lvm/lvm-commands.js';
import { openLvmPool, releaseStaleReservation } from '../../source-agent/source/lvm/lvm-pool.js';
import { newSnapshotTags } from '../../source-agent/source/lvm/snapshot-names.js';
import { parseThinDelta } from '../../source-agent/source/lvm/thin-delta-xml.js';
import { requireSystem } from '../helpers/system.js';
import { LVM_MODEL_TOOLS, type LvmModel, startLvmModel, uniqueVgName } from '../lvm-model/harness.js';

const BLOCK = 64 * 1024;

async function withPool(t: TestContext, fn: (m: LvmModel, vg: string) => Promise<void>): Promise<void> {
  if (!requireSystem(t, LVM_MODEL_TOOLS)) return;
  const work = mkdtempSync(join(tmpdir(), 'skiff-lvm-cmd-'));
  const m = startLvmModel(work);
  const vg = `${uniqueVgName('skiff')}-vg`;
  try {
    m.run('lvm', ['vgcreate', vg, '/dev/model-pv']);
    m.run('lvm', ['lvcreate', '--type', 'thin-pool', '-L', '64m', '-n', 'vm-pool', vg]);
    m.run('lvm', ['lvcreate', '-V', '4m', '--thin', '-n', 'vm-work-private', `${vg}/vm-pool`]);
    await fn(m, vg);
  } finally {
    m.close();
    rmSync(work, { recursive: true, force: true });
  }
}

describe('LVM command layer on the model', () => {
  it('classifies --local: VG/POOL is a pool; VG alone, a missing pool or VG, a thin volume are refused', (t) =>
    withPool(t, async (m, vg) => {
      const pool = await openLvmPool(`${vg}/vm-pool`, m.env);
      assert.deepEqual([pool.vg, pool.pool], [vg, 'vm-pool']);
      const refused = async (local: string, message: RegExp) => {
        await assert.rejects(openLvmPool(local, m.env), (e: unknown) => e instanceof LocalStorageError && message.test(e.message));
      };
      await refused(vg, /is a volume group; give its thin pool as --local=.*\/POOL/);
      await refused(`${vg}/nopool`, /Thin pool '.*\/nopool' not found/);
      await refused('novg/vm-pool', /Local path not found: 'novg\/vm-pool'/);
      await refused(`${vg}/vm-work-private`, /is a thin volume, not a thin pool; use --local=.*\/vm-pool/);
      await assert.rejects(findLvmTools({ ...m.env, PATH: '/nonexistent' }), /Required command not found: lvm/);
      // thin_delta's version, compared as numbers (the stand-in answers -V as told).
      await assert.rejects(findLvmTools({ ...m.env, SKIFF_LVM_MODEL_THIN_DELTA_VERSION: '0.7.3' }), /thin_delta 0\.7\.3 is too old/);
      assert.ok(await findLvmTools({ ...m.env, SKIFF_LVM_MODEL_THIN_DELTA_VERSION: '0.10.0' }));
    }));

  it('snapshots, tags, renames, removes; reserves and releases the metadata snapshot; runs thin_delta', (t) =>
    withPool(t, async (m, vg) => {
      const lvm = new Lvm(await findLvmTools(m.env));
      m.write(`${vg}/vm-work-private`, 0, Buffer.alloc(2 * BLOCK, 1));
      await lvm.createSnapshot(vg, 'vm-work-private', 'vm-work-private.skiff1', newSnapshotTags('u1', false));
      m.write(`${vg}/vm-work-private`, BLOCK, Buffer.alloc(10, 2));
      await lvm.createSnapshot(vg, 'vm-work-private', 'vm-work-private.skiff2', newSnapshotTags('u1', true));
      const snap1 = await lvm.lv(vg, 'vm-work-private.skiff1');
      const snap2 = await lvm.lv(vg, 'vm-work-private.skiff2');
      assert.equal(snap1?.attr[1], 'r');
      assert.deepEqual(snap1?.tags.sort(), ['arch-u1', 'skiff']);
      assert.deepEqual(snap2?.tags.sort(), ['arch-u1', 'delta', 'skiff']);
      assert.equal(snap1?.size, 4 * 1024 * 1024);
      assert.ok(Math.abs((snap1?.time ?? 0) - Date.now() / 1000) < 120);

      await lvm.reserveMetadataSnap(vg, 'vm-pool');
      assert.equal(await lvm.metadataSnapHeld(vg, 'vm-pool'), true);
      let xml = '';
      await lvm.thinDelta(vg, 'vm-pool', snap1?.thinId ?? -1, snap2?.thinId ?? -1, {
        onText: (text) => {
          xml += text;
        },
        deadlineMs: 30_000,
      });
      await lvm.releaseMetadataSnap(vg, 'vm-pool');
      assert.equal(await lvm.metadataSnapHeld(vg, 'vm-pool'), false);
      const delta = parseThinDelta(xml);
      assert.deepEqual(
        delta.ranges.filter((r) => r.kind !== 'same'),
        [{ kind: 'different', begin: 1, length: 1 }],
      );

      await lvm.changeTags(vg, 'vm-work-private.skiff2', ['S_20261204-000000'], ['delta']);
      await lvm.removeLv(vg, 'vm-work-private.skiff1');
      await lvm.rename(vg, 'vm-work-private.skiff2', 'vm-work-private.skiff1');
      const rows = await lvm.lvs([vg]);
      assert.deepEqual(
        rows.map((r) => r.name),
        ['vm-pool', 'vm-work-private', 'vm-work-private.skiff1'],
      );
      assert.deepEqual(rows[2]?.tags.sort(), ['S_20261204-000000', 'arch-u1', 'skiff']);
      await lvm.setPermission(vg, 'vm-work-private', 'rw'); // already rw: no error
      await lvm.setPermission(vg, 'vm-work-private', 'r');
      assert.equal((await lvm.lv(vg, 'vm-work-private'))?.attr[1], 'r');

      // A reservation a killed run left behind is released at start-up.
      await lvm.reserveMetadataSnap(vg, 'vm-pool');
      const pool = await openLvmPool(`${vg}/vm-pool`, m.env);
      assert.equal(await releaseStaleReservation(pool), true);
      assert.equal(await releaseStaleReservation(pool), false);
      await assert.rejects(lvm.releaseMetadataSnap(vg, 'vm-pool'), /dmsetup message release_metadata_snap failed/);
    }));
});
