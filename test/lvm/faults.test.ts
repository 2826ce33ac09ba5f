// The delta step's fault paths on the thin-pool model (SKIFF_LVM_MODEL_FAULT; the kernel side is
// modelled, thin_delta is real): thin_delta failing, printing truncated XML or hanging past the
// deadline, dmsetup refusing the reservation, SIGINT while thin_delta runs. Each gives one clear
// error, the model records the metadata snapshot released, no session is written and no
// .skiff2 is left, earlier sessions stay intact, and the next send is incremental and correct.
// Bad --local values and a missing thin_delta get one line and exit 7.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { startSkiff } from '../helpers/cli.js';
import { assertCode, BLOCK, MiB, withLvmSendBed } from './lvm-fixture.js';

const FAULTS: { fault: string; env?: NodeJS.ProcessEnv; message: RegExp }[] = [
  { fault: 'thin_delta-fail', message: /^ERROR running thin_delta process: / },
  { fault: 'thin_delta-truncate', message: /^thin_delta output not understood: .*truncated/ },
  { fault: 'thin_delta-hang', env: { SKIFF_THIN_DELTA_TIMEOUT: '2' }, message: /^ERROR running thin_delta process: no result within 2 s$/ },
  { fault: 'dmsetup-reserve', message: /^dmsetup message reserve_metadata_snap failed: .*Input\/output error/ },
];

describe('LVM send: fault paths and bad input (model)', () => {
  it('a failing delta step: clear error, snapshot released, no session, nothing left; the next send works', (t) =>
    withLvmSendBed(t, async (bed) => {
      const { m, vg } = bed;
      bed.createVolume('vm-work-private', 4 * MiB);
      assertCode(await bed.send(['vm-work-private']), 0);
      const first = Buffer.from(bed.expected.get('vm-work-private') as Buffer);
      const paired = bed.lv('vm-work-private.skiff1');
      bed.write('vm-work-private', 7 * BLOCK, randomBytes(300));

      for (const { fault, env, message } of FAULTS) {
        const before = m.state().events.length;
        const failed = await bed.send(['vm-work-private'], [], { SKIFF_LVM_MODEL_FAULT: fault, ...env });
        assertCode(failed, 7);
        const lines = failed.stderr.trim().split('\n');
        assert.equal(lines.length, 1, `one line for ${fault}: ${failed.stderr}`);
        assert.match(lines[0] as string, message, fault);
        const state = m.state();
        const pool = state.vgs[vg]?.lvs['vm-pool'];
        assert.equal(pool?.kind === 'pool' && pool.metadataSnapHeld, false, `${fault}: the metadata snapshot is released`);
        const events = state.events.slice(before);
        if (fault !== 'dmsetup-reserve')
          assert.ok(
            events.some((e) => e.op === 'release_metadata_snap' && e.ok),
            `${fault}: released`,
          );
        assert.equal(bed.lv('vm-work-private.skiff2'), undefined, `${fault}: no .skiff2 left`);
        assert.deepEqual(bed.lv('vm-work-private.skiff1')?.map, paired?.map, `${fault}: .skiff1 kept`);
        assert.deepEqual((await bed.chunkCounts()).get('vm-work-private'), [32], `${fault}: no session`);
      }

      const next = await bed.send(['vm-work-private']);
      assertCode(next, 0);
      assert.doesNotMatch(next.stdout, /Queuing full scan/);
      assert.deepEqual((await bed.chunkCounts()).get('vm-work-private'), [32, 1]);
      const second = Buffer.from(bed.expected.get('vm-work-private') as Buffer);

      // A crash in the rotation after the pairing was recorded (.skiff2 not yet renamed): the next
      // run finishes it and stays incremental.
      m.run('lvm', ['lvrename', `${vg}/vm-work-private.skiff1`, 'vm-work-private.skiff2']);
      bed.write('vm-work-private', 12 * BLOCK, randomBytes(10));
      const recovered = await bed.send(['vm-work-private']);
      assertCode(recovered, 0);
      assert.match(recovered.stdout, /^ {2}Recovered interrupted snapshot rotation: vm-work-private$/m);
      assert.doesNotMatch(recovered.stdout, /Queuing full scan/);
      assert.deepEqual((await bed.chunkCounts()).get('vm-work-private'), [32, 1, 1]);
      await bed.assertSessions(new Map([['vm-work-private', [first, second, bed.expected.get('vm-work-private') as Buffer]]]));
    }));

  it('two volumes: one reservation; thin_delta failing on the second volume still releases it, nothing is sent', (t) =>
    withLvmSendBed(t, async (bed) => {
      const { m } = bed;
      bed.createVolume('vm-a-private', 4 * MiB);
      bed.createVolume('vm-b-private', 4 * MiB);
      assertCode(await bed.send(['vm-a-private', 'vm-b-private']), 0);
      const firstA = Buffer.from(bed.expected.get('vm-a-private') as Buffer);
      const firstB = Buffer.from(bed.expected.get('vm-b-private') as Buffer);
      bed.write('vm-a-private', 3 * BLOCK, randomBytes(100));
      bed.write('vm-b-private', 5 * BLOCK, randomBytes(100));

      const before = m.state().events.length;
      const failed = await bed.send(['vm-a-private', 'vm-b-private'], [], { SKIFF_LVM_MODEL_FAULT: 'thin_delta-fail-second' });
      assertCode(failed, 7);
      assert.match(failed.stderr.trim(), /^ERROR running thin_delta process: .*second volume$/);
      assert.deepEqual(
        m
          .state()
          .events.slice(before)
          .map((e) => `${e.op}${e.ok ? '' : ' (failed)'}`),
        ['reserve_metadata_snap', 'thin_delta', 'thin_delta', 'release_metadata_snap'],
        'one reservation, released after the failure',
      );
      for (const name of ['vm-a-private', 'vm-b-private']) assert.equal(bed.lv(`${name}.skiff2`), undefined, `${name}: no .skiff2 left`);
      const counts = await bed.chunkCounts();
      assert.deepEqual([counts.get('vm-a-private'), counts.get('vm-b-private')], [[32], [32]], 'no session');

      const next = await bed.send(['vm-a-private', 'vm-b-private']);
      assertCode(next, 0);
      assert.deepEqual(
        m
          .state()
          .events.slice(before + 4)
          .map((e) => e.op),
        ['reserve_metadata_snap', 'thin_delta', 'thin_delta', 'release_metadata_snap'],
      );
      const after = await bed.chunkCounts();
      assert.deepEqual(
        [after.get('vm-a-private'), after.get('vm-b-private')],
        [
          [32, 1],
          [32, 1],
        ],
      );
      // The send after the failure stored the right bytes, not just the right number of chunks.
      await bed.assertSessions(
        new Map([
          ['vm-a-private', [firstA, bed.expected.get('vm-a-private') as Buffer]],
          ['vm-b-private', [firstB, bed.expected.get('vm-b-private') as Buffer]],
        ]),
      );
    }));

  it('SIGINT while thin_delta runs: exit 8, the reservation released, no session; the next send works', (t) =>
    withLvmSendBed(t, async (bed) => {
      const { m, vg } = bed;
      bed.createVolume('vm-work-private', 4 * MiB);
      assertCode(await bed.send(['vm-work-private']), 0);
      const first = Buffer.from(bed.expected.get('vm-work-private') as Buffer);
      bed.write('vm-work-private', 9 * BLOCK, randomBytes(300));
      const run = startSkiff(
        ['send', 'vm-work-private', `--local=${bed.local}`, `--dest=file:${bed.archiveDir}`, `--meta-dir=${join(bed.work, 'meta')}`],
        { env: { ...m.env, TZ: 'UTC', SKIFF_LVM_MODEL_FAULT: 'thin_delta-hang' } },
      );
      // thin_delta-hang prints half its output and waits: interrupt once the model recorded the run.
      while (!m.state().events.some((e) => e.op === 'thin_delta')) {
        if (run.child.exitCode !== null) assert.fail(`ended early: ${run.output().stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      run.child.kill('SIGINT');
      const result = await run.exited;
      assert.equal(result.code, 8, result.stderr);
      assert.match(result.stderr, /\*\*\* Interrupt\./);
      const pool = m.state().vgs[vg]?.lvs['vm-pool'];
      assert.equal(pool?.kind === 'pool' && pool.metadataSnapHeld, false, 'the metadata snapshot is released');
      assert.equal(bed.lv('vm-work-private.skiff2'), undefined);
      assert.deepEqual((await bed.chunkCounts()).get('vm-work-private'), [32]);
      const next = await bed.send(['vm-work-private']);
      assertCode(next, 0);
      assert.doesNotMatch(next.stdout, /Queuing full scan/);
      assert.deepEqual((await bed.chunkCounts()).get('vm-work-private'), [32, 1]);
      await bed.assertSessions(new Map([['vm-work-private', [first, bed.expected.get('vm-work-private') as Buffer]]]));
    }));

  it('bad --local values and a missing thin_delta: one line, exit 7', (t) =>
    withLvmSendBed(t, async (bed) => {
      const { m, vg } = bed;
      bed.createVolume('vm-work-private', 4 * MiB);
      // PATH with lvm and dmsetup but no thin_delta (node for the stand-ins).
      const bin = join(bed.work, 'no-thin-delta');
      mkdirSync(bin);
      for (const tool of ['lvm', 'dmsetup']) symlinkSync(join(m.bin, tool), join(bin, tool));
      const rows: { local: string; env?: NodeJS.ProcessEnv; message: RegExp }[] = [
        { local: vg, message: new RegExp(`^--local=${vg} is a volume group; give its thin pool as --local=${vg}/POOL\\.$`) },
        { local: `${vg}/no-pool`, message: new RegExp(`^Thin pool '${vg}/no-pool' not found\\.$`) },
        { local: 'no-such-vg/vm-pool', message: /^Local path not found: 'no-such-vg\/vm-pool' \(no volume group 'no-such-vg'\)$/ },
        {
          local: `${vg}/vm-work-private`,
          message: new RegExp(`^'${vg}/vm-work-private' is a thin volume, not a thin pool; use --local=${vg}/vm-pool\\.$`),
        },
        {
          local: bed.local,
          env: { PATH: `${bin}:${dirname(process.execPath)}` },
          message: /^Required command not found: thin_delta$/,
        },
        {
          local: bed.local,
          env: { SKIFF_LVM_MODEL_THIN_DELTA_VERSION: '0.7.3' },
          message: /^thin_delta 0\.7\.3 is too old: thin-provisioning-tools 0\.7\.4 or newer is needed\.$/,
        },
        {
          local: bed.local,
          env: { SKIFF_LVM_MODEL_THIN_DELTA_VERSION: 'thin_delta' },
          message: /^Unexpected 'thin_delta -V' output: "thin_delta"$/,
        },
        {
          local: bed.local,
          env: { PATH: dirname(process.execPath) },
          message: /^Required command not found: lvm \(--local=.* is not a directory, so it names an LVM thin pool VG\/POOL\)$/,
        },
      ];
      for (const row of rows) {
        const result = await bed.skiff(['send', 'vm-work-private', `--local=${row.local}`], row.env);
        assertCode(result, 7);
        const lines = result.stderr.trim().split('\n');
        assert.equal(lines.length, 1, result.stderr);
        assert.match(lines[0] as string, row.message);
      }
      // A volume that is not there, or not a thin volume of the pool: that volume fails (exit 2).
      const missing = await bed.send(['vm-nothing']);
      assertCode(missing, 2);
      assert.match(missing.stderr, new RegExp(`Local '${vg}/vm-nothing' does not exist!`));
      assert.equal((await bed.chunkCounts()).size, 0);
    }));
});
