import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LocalStorageError } from '../../errors.js';
import { dmName, Lvm, MIN_THIN_DELTA_VERSION, parseLvs, parseLvTime, parseThinDeltaVersion, versionAtLeast } from './lvm-commands.js';
import { lvmSnapshotNames, parseSnapshotLvName, sessionTags, snapshotMembership } from './snapshot-names.js';

describe('LVM command output', () => {
  it('parses lvs rows with --separator=:::, bytes, the time and tags (a tag may hold ":")', () => {
    const text =
      '  vm-pool:::vg0:::twi-aotz--:::268435456:::2026-12-04 22:57:57 +0000:::::::::\n' +
      '  vm-work-private.skiff1:::vg0:::Vri-a-tz--:::8388608:::2026-12-04 23:57:57 +0100:::vm-pool:::4:::arch-x,skiff,S_20261204-225757,odd:tag\n';
    const [pool, snap] = parseLvs(text);
    assert.deepEqual(pool, {
      name: 'vm-pool',
      vg: 'vg0',
      attr: 'twi-aotz--',
      size: 268435456,
      time: 1796425077,
      timeText: '2026-12-04 22:57:57 +0000',
      pool: '',
      thinId: null,
      tags: [],
    });
    assert.equal(snap?.time, 1796425077);
    assert.equal(snap?.thinId, 4);
    assert.deepEqual(snap?.tags, ['arch-x', 'skiff', 'S_20261204-225757', 'odd:tag']);
  });

  it('refuses rows of another shape', () => {
    assert.throws(() => parseLvs('  a:::b:::c\n'), LocalStorageError);
    assert.throws(() => parseLvs('  a:::vg:::Vwi-a-tz--:::12B:::2026-12-04 22:57:57 +0000:::p:::1:::\n'), LocalStorageError);
    assert.throws(() => parseLvs('  -a:::vg:::Vwi-a-tz--:::12:::2026-12-04 22:57:57 +0000:::p:::1:::\n'), LocalStorageError);
    assert.equal(parseLvTime('yesterday'), null);
    assert.equal(parseLvTime(''), null);
  });

  it("names device-mapper devices with every '-' doubled", () => {
    assert.equal(dmName('qubes_dom0', 'vm-pool', '-tpool'), 'qubes_dom0-vm--pool-tpool');
    assert.equal(dmName('my-vg', 'vm-pool', '_tmeta'), 'my--vg-vm--pool_tmeta');
  });
});

describe('LVM snapshot names', () => {
  it('uses .skiff1/.skiff2 and needs the skiff tag; Wyng snapshots are never ours', () => {
    assert.deepEqual(lvmSnapshotNames('vm-work-private'), { paired: 'vm-work-private.skiff1', next: 'vm-work-private.skiff2' });
    assert.deepEqual(parseSnapshotLvName('vm-work-private.skiff2'), { origin: 'vm-work-private', slot: 2 });
    assert.equal(parseSnapshotLvName('vm-work-private.tick'), null);
    assert.equal(snapshotMembership({ name: 'a.skiff1', tags: ['skiff', 'arch-u1'] }, 'u1'), 'this');
    assert.equal(snapshotMembership({ name: 'a.skiff1', tags: ['skiff', 'arch-u2'] }, 'u1'), 'other');
    assert.equal(snapshotMembership({ name: 'a.skiff1', tags: ['arch-u1'] }, 'u1'), 'none');
    assert.equal(snapshotMembership({ name: 'a.tick', tags: ['wyng', 'skiff', 'arch-u1'] }, 'u1'), 'none');
    assert.deepEqual(sessionTags(['skiff', 'S_20261204-225757', 'delta']), ['S_20261204-225757']);
  });
});

describe('thin_delta version', () => {
  it('reads thin_delta -V and compares versions as numbers (0.10.0 is newer than 0.7.4)', () => {
    assert.deepEqual(parseThinDeltaVersion('0.9.0\n'), [0, 9, 0]);
    assert.deepEqual(parseThinDeltaVersion('thin_delta 1.0.12\n'), [1, 0, 12]);
    assert.equal(parseThinDeltaVersion('unknown\n'), null);
    assert.equal(parseThinDeltaVersion(''), null);
    const ok = (text: string) => versionAtLeast(parseThinDeltaVersion(text) ?? [], MIN_THIN_DELTA_VERSION);
    assert.equal(ok('0.7.4'), true);
    assert.equal(ok('0.7.3'), false);
    assert.equal(ok('0.6.10'), false);
    assert.equal(ok('0.10.0'), true, 'Wyng compares strings and would refuse this one');
    assert.equal(ok('1.0.0'), true);
  });
});

describe('LVM commands that cannot be trusted to finish', () => {
  it('fails an lvm that hangs after the deadline, and never passes a name starting with "-"', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-lvm-hang-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const lvmPath = join(dir, 'lvm');
    const ran = join(dir, 'ran');
    writeFileSync(lvmPath, `#!/bin/sh\necho "$@" >> ${ran}\nexec sleep 30\n`);
    chmodSync(lvmPath, 0o755);
    const lvm = new Lvm({ lvm: lvmPath, dmsetup: lvmPath, thinDelta: lvmPath, env: process.env, deadlineMs: 200 });
    await assert.rejects(lvm.lvs(['vg0']), /lvm lvs vg0 failed: .*no result within 0\.2 s/);
    await assert.rejects(lvm.rename('vg0', 'a', '-ffy'), LocalStorageError);
    await assert.rejects(lvm.createSnapshot('vg0', 'a', '--help', []), /Not a valid LVM volume name: "--help"/);
    assert.equal(
      readFileSync(ran, 'utf8')
        .split('\n')
        .filter((l) => l !== '').length,
      1,
    );
  });
});
