// The LVM thin-pool model's own behaviour, through the same commands Skiff and Wyng run. The kernel
// side (dm-thin) is modelled — this machine has no device-mapper — but contents are real loop
// devices behind /dev/VG/LV and the metadata is read by the real thin_restore/thin_delta.

import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { requireSystem } from '../helpers/system.js';
import { LVM_MODEL_TOOLS, type LvmModel, startLvmModel, uniqueVgName } from './harness.js';
import type { ThinLv } from './state.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const BLOCK = 64 * KiB; // the pool's block size (LVM's default thin-pool chunk size)

/** A model with VG "<unique>-vg" (a dash, to exercise dm name doubling) and pool "vm-pool". */
async function withModel(t: TestContext, fn: (m: LvmModel, vg: string) => Promise<void> | void): Promise<void> {
  if (!requireSystem(t, LVM_MODEL_TOOLS)) return;
  const work = mkdtempSync(join(tmpdir(), 'skiff-lvm-model-'));
  const m = startLvmModel(work);
  const vg = `${uniqueVgName('skiff')}-vg`;
  try {
    m.run('lvm', ['vgcreate', vg, '/dev/model-pv']);
    m.run('lvm', ['lvcreate', '--type', 'thin-pool', '-L', '256m', '-n', 'vm-pool', vg]);
    await fn(m, vg);
  } finally {
    m.close();
    rmSync(work, { recursive: true, force: true });
  }
}

function fails(m: LvmModel, command: string, args: string[]): { status: number; stderr: string } {
  try {
    m.run(command, args);
  } catch (e) {
    const err = e as { status: number; stderr: string };
    return { status: err.status, stderr: err.stderr };
  }
  assert.fail(`${command} ${args.join(' ')} succeeded`);
}

function thin(m: LvmModel, vg: string, name: string): ThinLv {
  const lv = m.state().vgs[vg]?.lvs[name];
  assert.equal(lv?.kind, 'thin');
  return lv as ThinLv;
}

function read(path: string, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buf, 0, length, offset);
  } finally {
    closeSync(fd);
  }
  return buf;
}

const bytes = (length: number, seed: number) => Buffer.alloc(length, seed);
const LVS = [
  'lvs',
  '--units=b',
  '--noheadings',
  '--separator=:::',
  '--options=vg_name,lv_name,lv_attr,lv_size,lv_time,pool_lv,thin_id,tags',
];

describe('LVM thin-pool model', () => {
  it('creates a pool and thin LVs (a Qubes-like name too) that are loop block devices at /dev/VG/LV', (t) =>
    withModel(t, (m, vg) => {
      for (const [name, size] of [
        ['vm-work-private', '8m'],
        ['vm-work-root', '12m'],
        ['data', '4m'],
      ] as const) {
        assert.match(
          m.run('lvm', ['lvcreate', '-kn', '-ay', '-V', size, '-prw', '--thin', '-n', name, `${vg}/vm-pool`]),
          /Logical volume ".*" created/,
        );
      }
      const lines = m
        .run('lvm', [...LVS, vg])
        .split('\n')
        .filter(Boolean);
      const time = String.raw`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}`;
      assert.equal(lines.length, 4);
      assert.match(lines[0] as string, new RegExp(`^  ${vg}:::data:::Vwi-a-tz--:::4194304B:::${time}:::vm-pool:::3:::$`));
      assert.match(lines[1] as string, new RegExp(`^  ${vg}:::vm-pool:::twi-aotz--:::268435456B:::${time}:::::::::$`));
      assert.match(lines[2] as string, new RegExp(`^  ${vg}:::vm-work-private:::Vwi-a-tz--:::8388608B:::${time}:::vm-pool:::1:::$`));
      assert.match(lines[3] as string, new RegExp(`^  ${vg}:::vm-work-root:::Vwi-a-tz--:::12582912B:::${time}:::vm-pool:::2:::$`));
      // Wyng's classification queries: a pool has attr t… and no pool; a thin volume V… and a pool.
      const q = ['lvs', '--separator=:::', '--noheadings', '--options=lv_name,pool_lv,vg_name,attr'];
      assert.equal(m.run('lvm', [...q, `${vg}/vm-pool`]).trim(), `vm-pool::::::${vg}:::twi-aotz--`);
      assert.equal(m.run('lvm', [...q, `/dev/${vg}/vm-work-private`]).trim(), `vm-work-private:::vm-pool:::${vg}:::Vwi-a-tz--`);
      assert.match(m.run('lvm', ['vgdisplay', vg]), new RegExp(`VG Name\\s+${vg}`));

      const dev = `/dev/${vg}/vm-work-private`;
      assert.ok(statSync(dev).isBlockDevice());
      assert.match(realpathSync(dev), /^\/dev\/loop\d+$/);
      assert.equal(execFileSync('blockdev', ['--getsize64', dev], { encoding: 'utf8' }).trim(), String(8 * MiB));
    }));

  it('rounds sizes up to whole extents and refuses what LVM refuses, with its exit codes', (t) =>
    withModel(t, (m, vg) => {
      m.run('lvm', ['lvcreate', '-V', '1000000b', '-T', `${vg}/vm-pool`, '-n', 'odd']);
      assert.equal(thin(m, vg, 'odd').size, 4 * MiB);
      assert.deepEqual(fails(m, 'lvm', ['vgdisplay', 'no-such-vg']).status, 5);
      assert.match(fails(m, 'lvm', ['lvs', `${vg}/nothing`]).stderr, /Failed to find logical volume/);
      assert.equal(fails(m, 'lvm', ['lvs', '-o', 'lv_colour', vg]).status, 3);
      assert.equal(fails(m, 'lvm', ['lvcreate', '-V', '4m', '-T', `${vg}/vm-pool`, '-n', 'odd']).status, 5);
      assert.equal(fails(m, 'lvm', ['lvcreate', '--bogus', vg]).status, 3);
    }));

  it('a snapshot shares every block; writing a shared block allocates, an owned one is overwritten in place', (t) =>
    withModel(t, (m, vg) => {
      m.run('lvm', ['lvcreate', '-V', '8m', '--thin', '-n', 'vm-work-private', `${vg}/vm-pool`]);
      const lv = `${vg}/vm-work-private`;
      m.write(lv, 0, bytes(4 * BLOCK, 1)); // blocks 0-3
      assert.deepEqual(thin(m, vg, 'vm-work-private').map, [[0, 0, 4]]);

      m.run('lvm', ['lvcreate', '-kn', '-ay', '-pr', '--addtag=wyng', '--addtag=arch-x', '-s', lv, '-n', 'vm-work-private.tick']);
      const snap = thin(m, vg, 'vm-work-private.tick');
      assert.deepEqual(snap.map, [[0, 0, 4]], 'the snapshot maps the same data blocks');
      assert.deepEqual(snap.tags.sort(), ['arch-x', 'wyng']);
      assert.match(m.run('dmsetup', ['status', `${vg.replaceAll('-', '--')}-vm--pool-tpool`]), / 4\/4096 - rw /, 'no new data blocks');

      m.write(lv, BLOCK + 100, bytes(10, 2)); // shared block 1 → a new data block
      assert.deepEqual(thin(m, vg, 'vm-work-private').map, [
        [0, 0, 1],
        [1, 4, 1],
        [2, 2, 2],
      ]);
      m.write(lv, BLOCK + 200, bytes(10, 3)); // block 1 is now owned → in place
      assert.deepEqual(thin(m, vg, 'vm-work-private').map, [
        [0, 0, 1],
        [1, 4, 1],
        [2, 2, 2],
      ]);
      assert.deepEqual(thin(m, vg, 'vm-work-private.tick').map, [[0, 0, 4]], 'the snapshot keeps its blocks');

      // And the contents follow: the origin has the new bytes, the snapshot the old ones.
      assert.deepEqual(read(`/dev/${lv}`, BLOCK + 100, 4), Buffer.from([2, 2, 2, 2]));
      assert.deepEqual(read(`/dev/${vg}/vm-work-private.tick`, BLOCK + 100, 4), Buffer.from([1, 1, 1, 1]));

      // Removing the origin frees only its own block 4 (the snapshot still holds 0-3).
      m.run('lvm', ['lvremove', '-f', lv]);
      assert.match(m.run('dmsetup', ['status', `${vg.replaceAll('-', '--')}-vm--pool-tpool`]), / 4\/4096 - rw /);
      assert.equal(existsSync(`/dev/${lv}`), false);
    }));

  it('tags, permissions, activation skip, rename and resize', (t) =>
    withModel(t, (m, vg) => {
      m.run('lvm', ['lvcreate', '-V', '8m', '--thin', '-n', 'v', `${vg}/vm-pool`]);
      const path = `/dev/${vg}/v`;
      m.write(`${vg}/v`, 0, bytes(8 * MiB, 7));
      m.run('lvm', ['lvchange', path, '--addtag=S_20261204-120000', '--addtag=delta']);
      m.run('lvm', ['lvchange', path, '--deltag=delta']);
      assert.deepEqual(thin(m, vg, 'v').tags, ['S_20261204-120000']);

      m.run('lvm', ['lvchange', path, '-p', 'r']);
      assert.equal(m.run('lvm', ['lvs', '--noheadings', '-o', 'lv_attr', path]).trim(), 'Vri-a-tz--');
      assert.equal(execFileSync('blockdev', ['--getro', path], { encoding: 'utf8' }).trim(), '1');
      assert.match(fails(m, 'lvm', ['lvchange', '-p', 'r', path]).stderr, /already read only/);
      m.run('lvm', ['lvchange', '-prw', path]);
      assert.equal(execFileSync('blockdev', ['--getro', path], { encoding: 'utf8' }).trim(), '0');

      // Thin snapshots skip activation unless -kn (or -K).
      m.run('lvm', ['lvcreate', '-s', `${vg}/v`, '-n', 'v.snap']);
      assert.equal(m.run('lvm', ['lvs', '--noheadings', '-o', 'lv_attr', `${vg}/v.snap`]).trim(), 'Vwi---tz-k');
      assert.equal(existsSync(`/dev/${vg}/v.snap`), false);
      m.run('lvm', ['lvchange', '-ay', '-K', `${vg}/v.snap`]);
      assert.ok(statSync(`/dev/${vg}/v.snap`).isBlockDevice());

      // LVM collapses repeated slashes (Wyng passes /dev/VG//LV) and knows /dev/mapper names.
      assert.equal(m.run('lvm', ['lvs', '--noheadings', '-o', 'lv_name', `/dev/${vg}//v.snap`]).trim(), 'v.snap');
      assert.equal(
        m.run('lvm', ['lvs', '--noheadings', '-o', 'lv_name', `/dev/mapper/${vg.replaceAll('-', '--')}-v.snap`]).trim(),
        'v.snap',
      );
      m.run('lvm', ['lvrename', `/dev/${vg}//v.snap`, 'v.tick']);
      assert.equal(existsSync(`/dev/${vg}/v.snap`), false);
      assert.deepEqual(read(`/dev/${vg}/v.tick`, 0, 2), Buffer.from([7, 7]));

      // Growth adds unmapped (zero) space; shrinking needs -f and unmaps the blocks past the end.
      m.run('lvm', ['lvresize', '-L', `${12 * MiB}b`, '-f', path]);
      assert.equal(execFileSync('blockdev', ['--getsize64', path], { encoding: 'utf8' }).trim(), String(12 * MiB));
      assert.deepEqual(read(path, 10 * MiB, 2), Buffer.from([0, 0]));
      assert.deepEqual(thin(m, vg, 'v').map, [[0, 0, 128]]);
      assert.equal(fails(m, 'lvm', ['lvresize', '-L', '4m', path]).status, 5);
      m.run('lvm', ['lvresize', '-L', '4m', '-f', path]);
      assert.deepEqual(thin(m, vg, 'v').map, [[0, 0, 64]]);
      assert.equal(execFileSync('blockdev', ['--getsize64', path], { encoding: 'utf8' }).trim(), String(4 * MiB));
      assert.equal(fails(m, 'lvm', ['lvresize', '-L', '4m', '-f', path]).status, 5, 'same size');
    }));

  it('reserve/release of the metadata snapshot behave like dm-thin and are recorded', (t) =>
    withModel(t, (m, vg) => {
      m.run('lvm', ['lvcreate', '-V', '4m', '--thin', '-n', 'a', `${vg}/vm-pool`]);
      const tpool = `${vg.replaceAll('-', '--')}-vm--pool-tpool`;
      const tmeta = `/dev/mapper/${vg.replaceAll('-', '--')}-vm--pool_tmeta`;
      const delta = ['--metadata-snap', '--thin1=1', '--thin2=1', tmeta];

      const noSnap = fails(m, 'thin_delta', delta);
      assert.equal(noSnap.status, 1);
      assert.match(noSnap.stderr, /no current metadata snap/);
      assert.equal(fails(m, 'dmsetup', ['message', tpool, '0', 'release_metadata_snap']).status, 1);
      assert.match(fails(m, 'dmsetup', ['message', `${vg}-vm-pool-tpool`, '0', 'reserve_metadata_snap']).stderr, /No such device/);

      m.run('dmsetup', ['message', tpool, '0', 'reserve_metadata_snap']);
      assert.match(m.run('dmsetup', ['status', tpool]), / 1 rw /, 'held root shown');
      assert.match(fails(m, 'dmsetup', ['message', tpool, '0', 'reserve_metadata_snap']).stderr, /busy/);
      assert.match(m.run('thin_delta', delta), /<diff left="1" right="1">/);
      m.run('dmsetup', ['message', tpool, '0', 'release_metadata_snap']);
      assert.match(m.run('dmsetup', ['status', tpool]), / - rw /);

      assert.deepEqual(
        m.state().events.map((e) => `${e.op}:${e.ok}`),
        [
          'thin_delta:false',
          'release_metadata_snap:false',
          'reserve_metadata_snap:false',
          'reserve_metadata_snap:true',
          'reserve_metadata_snap:false',
          'thin_delta:true',
          'release_metadata_snap:true',
        ],
      );
    }));

  it('keeps its state consistent under parallel commands (Wyng removes snapshots 16 at a time)', (t) =>
    withModel(t, async (m, vg) => {
      m.run('lvm', ['lvcreate', '-V', '4m', '--thin', '-n', 'base', `${vg}/vm-pool`]);
      const names = Array.from({ length: 8 }, (_, i) => `base.s${i}`);
      for (const name of names) m.run('lvm', ['lvcreate', '-kn', '-ay', '-s', `${vg}/base`, '-n', name]);
      const run = promisify(execFile);
      await Promise.all(
        names.map((name) =>
          run('sh', ['-c', `lvm lvchange -p rw /dev/${vg}/${name} ; lvm lvremove -f /dev/${vg}/${name}`], { env: m.env }),
        ),
      );
      assert.deepEqual(Object.keys(m.state().vgs[vg]?.lvs ?? {}).sort(), ['base', 'vm-pool']);
      for (const name of names) assert.equal(existsSync(`/dev/${vg}/${name}`), false);
    }));

  it('injects faults for the delta step on request', (t) =>
    withModel(t, async (m, vg) => {
      m.run('lvm', ['lvcreate', '-V', '4m', '--thin', '-n', 'a', `${vg}/vm-pool`]);
      const tpool = `${vg.replaceAll('-', '--')}-vm--pool-tpool`;
      const tmeta = `/dev/mapper/${vg.replaceAll('-', '--')}-vm--pool_tmeta`;
      assert.throws(() => m.run('dmsetup', ['message', tpool, '0', 'reserve_metadata_snap'], { SKIFF_LVM_MODEL_FAULT: 'dmsetup-reserve' }));
      m.run('dmsetup', ['message', tpool, '0', 'reserve_metadata_snap']);
      assert.throws(() => m.run('thin_delta', ['-m', '--thin1', '1', '--thin2', '1', tmeta], { SKIFF_LVM_MODEL_FAULT: 'thin_delta-fail' }));
      const cut = m.run('thin_delta', ['-m', '--thin1', '1', '--thin2', '1', tmeta], { SKIFF_LVM_MODEL_FAULT: 'thin_delta-truncate' });
      assert.ok(cut.length > 0 && !cut.includes('</superblock>'));

      // A hung thin_delta holds no lock: killed mid-output, the release still goes through.
      const hung = spawn('thin_delta', ['-m', '--thin1', '1', '--thin2', '1', tmeta], {
        env: { ...m.env, SKIFF_LVM_MODEL_FAULT: 'thin_delta-hang' },
      });
      await new Promise((resolve) => hung.stdout.once('data', resolve));
      const ended = new Promise((resolve) => hung.once('exit', (_code, signal) => resolve(signal)));
      hung.kill('SIGTERM');
      assert.equal(await ended, 'SIGTERM');
      m.run('dmsetup', ['message', tpool, '0', 'release_metadata_snap']);
      assert.match(m.run('dmsetup', ['status', tpool]), / - rw /);
    }));
});
