// send --local=VG/POOL on the thin-pool model (the kernel side is modelled, thin_delta is real):
// the first send reads everything, an incremental one stores exactly the chunks holding the blocks
// written through the model (shared, already overwritten, the very last one, growth, shrink), a
// lost snapshot or another archive's (--remap) leads to a correct full read, and every session of
// every volume restores byte-identical.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { VolumeId } from '../../source-agent/archive/names.js';
import { LocalStore } from '../../source-agent/store/local-store.js';
import { openArchive } from '../volumes/archive-fixture.js';
import { assertCode, BLOCK, CHUNK, MiB, withLvmSendBed } from './lvm-fixture.js';

const chunkOf = (offset: number) => Math.floor(offset / CHUNK);

describe('send from an LVM thin pool (model)', () => {
  it('full send, then an incremental send that stores exactly the changed chunks; every session restores', (t) =>
    withLvmSendBed(t, async (bed) => {
      const { m, vg } = bed;
      bed.createVolume('vm-work-private', 4 * MiB);
      bed.createVolume('vm-work-root', 4 * MiB);
      bed.createVolume('data', 8 * MiB);
      const history = new Map<string, Buffer[]>();
      const remember = () => {
        for (const [name, bytes] of bed.expected) history.set(name, [...(history.get(name) ?? []), Buffer.from(bytes)]);
      };

      const first = await bed.send(['vm-work-private', 'vm-work-root', 'data']);
      assertCode(first, 0);
      assert.match(first.stdout, /Queuing full scan of 'vm-work-private'/);
      remember();
      for (const name of ['vm-work-private', 'vm-work-root', 'data']) {
        const snap = bed.lv(`${name}.skiff1`);
        assert.ok(snap, `${name}.skiff1 exists`);
        assert.equal(snap.writable, false);
        assert.ok(
          snap.tags.includes('skiff') && snap.tags.some((tag) => tag.startsWith('arch-')) && snap.tags.some((tag) => tag.startsWith('S_')),
        );
        assert.equal(bed.lv(`${name}.skiff2`), undefined);
      }

      // Scattered writes through the model, so the pool's mapping follows them.
      const changed = new Set<number>();
      const at = (name: string, offset: number, length: number) => {
        bed.write(name, offset, randomBytes(length));
        if (name === 'vm-work-private') changed.add(chunkOf(offset));
      };
      at('vm-work-private', 3 * BLOCK + 100, 10); // a block shared with .skiff1: copy-on-write
      at('vm-work-private', 10 * BLOCK, 20); // written twice: the second write is in place
      at('vm-work-private', 10 * BLOCK + 5000, 20);
      at('vm-work-private', 4 * MiB - 10, 10); // the very end
      at('vm-work-private', 21 * BLOCK - 4, 8); // across two blocks and two chunks
      changed.add(chunkOf(21 * BLOCK + 3));
      bed.resize('vm-work-root', 8 * MiB); // growth, with data in the new part
      bed.write('vm-work-root', 6 * MiB + 7, randomBytes(100));
      bed.resize('data', 4 * MiB); // shrink

      const eventsBefore = m.state().events.length;
      const callLog = join(bed.work, 'calls.log');
      const second = await bed.send(['vm-work-private', 'vm-work-root', 'data'], [], { SKIFF_LVM_MODEL_CALL_LOG: callLog });
      assertCode(second, 0);
      assert.doesNotMatch(second.stdout, /Queuing full scan/);
      remember();
      const events = m.state().events.slice(eventsBefore);
      assert.equal(events.filter((e) => e.op === 'thin_delta' && e.ok).length, 3, 'one thin_delta per volume');
      // Wyng's §3.2: one reservation for the pool, thin_delta for each volume, one release.
      assert.deepEqual(
        events.map((e) => `${e.op}${e.ok ? '' : ' (failed)'}`),
        ['reserve_metadata_snap', 'thin_delta', 'thin_delta', 'thin_delta', 'release_metadata_snap'],
        'one reservation and one release for the three volumes',
      );
      assert.match(
        second.stdout,
        /^Preparing snapshots in '[^']*\/'\.\.\.\nAcquiring deltas\.\n\nSending backup session /m,
        "Wyng's placement",
      );
      assert.doesNotMatch(first.stdout, /Acquiring deltas/, 'no line when every volume is read whole');
      // `lvs` once to classify --local (it serves the first volume too), then once per new snapshot.
      const lvsCalls = readFileSync(callLog, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('lvm lvs '));
      assert.equal(lvsCalls.length, 1 + 3, 'lvs calls');

      const counts = await bed.chunkCounts();
      assert.deepEqual(counts.get('vm-work-private'), [32, changed.size], 'exactly the chunks holding changed blocks');
      assert.deepEqual(counts.get('vm-work-root'), [32, 1], 'growth: the one non-zero new chunk');
      assert.deepEqual(counts.get('data'), [64, 0], 'shrink: a session, no chunk');
      await bed.assertSessions(history);
      assert.ok(bed.lv('vm-work-private.skiff1')?.tags.some((tag) => tag.startsWith('S_')));
      assert.equal(Object.keys(m.state().vgs[vg]?.lvs ?? {}).filter((n) => n.endsWith('.skiff2')).length, 0);

      // A lost snapshot: the next send reads everything and still stores only what changed.
      m.run('lvm', ['lvremove', '-f', `${vg}/vm-work-private.skiff1`]);
      bed.write('vm-work-private', 30 * BLOCK, randomBytes(64));
      const third = await bed.send(['vm-work-private']);
      assertCode(third, 0);
      assert.match(third.stdout, /Queuing full scan of 'vm-work-private'/);
      history.set('vm-work-private', [
        ...(history.get('vm-work-private') ?? []),
        Buffer.from(bed.expected.get('vm-work-private') as Buffer),
      ]);
      assert.deepEqual((await bed.chunkCounts()).get('vm-work-private'), [32, changed.size, 1]);

      // A dry run leaves no snapshot behind and keeps the pairing: the next send is incremental.
      bed.write('vm-work-private', 2 * BLOCK, randomBytes(64));
      assertCode(await bed.send(['vm-work-private'], ['--dry-run']), 0);
      assert.equal(bed.lv('vm-work-private.skiff2'), undefined);
      const fourth = await bed.send(['vm-work-private']);
      assertCode(fourth, 0);
      assert.doesNotMatch(fourth.stdout, /Queuing full scan/);
      history.set('vm-work-private', [
        ...(history.get('vm-work-private') ?? []),
        Buffer.from(bed.expected.get('vm-work-private') as Buffer),
      ]);
      assert.deepEqual((await bed.chunkCounts()).get('vm-work-private'), [32, changed.size, 1, 1]);
      await bed.assertSessions(history);
    }));

  it("another archive's snapshot: the volume is skipped with Wyng's message; --remap removes it and reads everything", (t) =>
    withLvmSendBed(t, async (bed) => {
      const { m, vg } = bed;
      bed.createVolume('vm-work-private', 4 * MiB);
      assertCode(await bed.send(['vm-work-private']), 0);
      const first = Buffer.from(bed.expected.get('vm-work-private') as Buffer);
      // Another archive took over the paired slot.
      m.run('lvm', ['lvremove', '-f', `${vg}/vm-work-private.skiff1`]);
      m.run('lvm', [
        'lvcreate',
        '-kn',
        '-ay',
        '-pr',
        '--addtag=skiff',
        '--addtag=arch-11111111-2222-4333-8444-555555555555',
        '-s',
        `${vg}/vm-work-private`,
        '-n',
        'vm-work-private.skiff1',
      ]);
      bed.write('vm-work-private', 5 * BLOCK, randomBytes(100));

      const skipped = await bed.send(['vm-work-private']);
      assertCode(skipped, 2);
      assert.match(
        skipped.stderr + skipped.stdout,
        /^ {2}Skipping vm-work-private; snapshot is from a different archive\. Use --remap to clear it\.$/m,
      );
      assert.ok(bed.lv('vm-work-private.skiff1')?.tags.includes('arch-11111111-2222-4333-8444-555555555555'), 'left alone');

      const remapped = await bed.send(['vm-work-private'], ['--remap']);
      assertCode(remapped, 0);
      assert.match(remapped.stdout, /Queuing full scan of 'vm-work-private'/);
      assert.ok(bed.lv('vm-work-private.skiff1')?.tags.every((tag) => tag !== 'arch-11111111-2222-4333-8444-555555555555'));
      assert.deepEqual((await bed.chunkCounts()).get('vm-work-private'), [32, 1]);
      await bed.assertSessions(new Map([['vm-work-private', [first, bed.expected.get('vm-work-private') as Buffer]]]));

      // Wyng's snapshots of the same volume are never touched.
      m.run('lvm', [
        'lvcreate',
        '-kn',
        '-ay',
        '-pr',
        '--addtag=wyng',
        '--addtag=arch-x',
        '-s',
        `${vg}/vm-work-private`,
        '-n',
        'vm-work-private.tick',
      ]);
      assertCode(await bed.send(['vm-work-private']), 0);
      assert.ok(bed.lv('vm-work-private.tick'));

      // Permissions are Wyng's "w"/"r" from lv_attr; a change alone makes a session without chunks.
      m.run('lvm', ['lvchange', '-p', 'r', `${vg}/vm-work-private`]);
      assertCode(await bed.send(['vm-work-private']), 0);
      const archive = await openArchive(new LocalStore(bed.archiveDir), null);
      const [vid] = [...archive.ini.volumes.keys()];
      const sessions = (await archive.loadVolume(vid as VolumeId)).sessions;
      assert.deepEqual(
        sessions.map((s) => s.info.permissions),
        ['w', 'w', 'r'],
      );
      assert.deepEqual((await bed.chunkCounts()).get('vm-work-private'), [32, 1, 0]);
      // The session without chunks still restores the volume as it is.
      const restored = join(bed.work, 'permissions-only.img');
      assertCode(await bed.skiff(['receive', 'vm-work-private', `--save-to=${restored}`]), 0);
      assert.ok(readFileSync(restored).equals(bed.expected.get('vm-work-private') as Buffer), 'the newest session restores byte-identical');
    }));
});
