// receive into an LVM thin pool (--local=VG/POOL) and onto a thin LV (--save-to=/dev/VG/LV), on
// the thin-pool model (test/lvm-model/README.md: the kernel side, dm-thin, is modelled; each LV
// is a loop device over a sparse file thin-<id>.img, and a discard of the LV punches holes in
// it). Shown here: the LV is created or resized, written byte-identical, its zero regions read as
// zeros although no zero chunk was written (the backing file stays sparse), it gets the session's
// permission, a failed receive leaves no half-good volume, and the newest session is paired again.
//
// The CLI runs in this process (the stand-ins are put on this process's PATH, which the in-process
// runs inherit); the archive is unencrypted, so no passphrase is asked.

import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { LocalStore } from '../../source-agent/store/local-store.js';
import { scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { readDevice, requireSystem } from '../helpers/system.js';
import { openArchive } from '../helpers/write-context.js';
import { LVM_MODEL_TOOLS, type LvmModel, startLvmModel, uniqueVgName } from '../lvm-model/harness.js';
import type { ThinLv } from '../lvm-model/state.js';

const CHUNK = 64 * 1024;
const VOLUME = 8 * 1024 * 1024;
const scratch = scratchDir('skiff-lvm-receive-');

/** 8 MiB: data in chunks 0, 5 and 100 (partly), zeros everywhere else. */
function image(seed: number): Buffer {
  const bytes = Buffer.alloc(VOLUME);
  for (const [at, length] of [
    [0, CHUNK],
    [5 * CHUNK, CHUNK],
    [100 * CHUNK + 1000, 3000],
  ] as const) {
    for (let i = 0; i < length; i++) bytes[at + i] = (i * 7 + seed + (at >> 16)) % 251 || 1;
  }
  return bytes;
}
const DATA_BYTES = 3 * CHUNK;

let model: LvmModel | null = null;
let vg = '';
let dest = '';
let ready = false;
const original = image(1);
/** The volume at its newest session (the incremental send below changes it). */
let latest = original;

function skiff(...args: string[]) {
  return runSkiffInProcess([`--dest=file:${dest}`, ...args]);
}

function thin(name: string): ThinLv {
  const lv = model?.state().vgs[vg]?.lvs[name];
  assert.ok(lv?.kind === 'thin', `${vg}/${name} is a thin LV`);
  return lv;
}

/** Bytes the LV's backing file really holds (it is sparse: holes are not counted). */
function allocated(name: string): number {
  const lv = thin(name);
  return statSync(join(model?.dir ?? '', vg, `thin-${lv.thinId}.img`)).blocks * 512;
}

function ready_(t: TestContext): boolean {
  if (!requireSystem(t, LVM_MODEL_TOOLS)) return false;
  assert.ok(ready, 'the pool and archive were set up');
  return true;
}

before(async () => {
  if (process.getuid?.() !== 0) return;
  model = startLvmModel(scratch.dir);
  // The in-process CLI runs with this process's environment: the stand-ins come first on PATH.
  process.env['PATH'] = model.env['PATH'];
  process.env['SKIFF_LVM_MODEL_DIR'] = model.dir;
  vg = uniqueVgName('skiffrecv');
  model.run('lvm', ['vgcreate', vg, '/dev/model-pv']);
  model.run('lvm', ['lvcreate', '--type', 'thin-pool', '-L', '256m', '-n', 'vm-pool', vg]);
  dest = join(scratch.dir, 'archive');
  const init = await runSkiffInProcess(['arch-init', `--dest=file:${dest}`, '--encrypt=off', '--chunk-factor=1']);
  assert.equal(init.code, 0, init.stderr);
  const source = join(scratch.dir, 'vm-work-private.img');
  writeFileSync(source, original);
  const sent = await skiff('send', `--import-other-from=vm-work-private:|:${source}`);
  assert.equal(sent.code, 0, sent.stderr);
  // A read-only source: its session's permissions say so (444:…).
  const readOnly = join(scratch.dir, 'vm-ro.img');
  writeFileSync(readOnly, image(2));
  chmodSync(readOnly, 0o444);
  const sentRo = await skiff('send', `--import-other-from=vm-ro:|:${readOnly}`);
  assert.equal(sentRo.code, 0, sentRo.stderr);
  ready = true;
});

after(() => {
  try {
    model?.run('lvm', ['vgremove', '-f', vg]);
  } finally {
    model?.close();
    scratch.cleanup();
  }
});

describe('receive into an LVM thin pool (model)', () => {
  it('--local=VG/POOL creates the LV, writes it byte-identical and writes no zero chunk', async (t) => {
    if (!ready_(t)) return;
    const r = await skiff('receive', 'vm-work-private', `--local=${vg}/vm-pool`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Creating 'vm-work-private' in thin pool /dev/${vg}/\\[vm-pool\\]\\.`));
    assert.match(r.stdout, new RegExp(`Saving to tlvm pool '/dev/${vg}/vm-work-private'`));
    const lv = thin('vm-work-private');
    assert.equal(lv.size, VOLUME);
    assert.ok(lv.writable, 'rw, as the session says (644)');
    assert.ok(readDevice(`/dev/${vg}/vm-work-private`, VOLUME).equals(original), 'the LV holds the volume');
    // The zero regions read as zeros (compared above) without having been written: the backing
    // file holds only the three data chunks (writing the zero chunks would allocate all 8 MiB).
    const bytes = allocated('vm-work-private');
    assert.ok(bytes >= DATA_BYTES - 4096 && bytes <= DATA_BYTES + 64 * 1024, `allocated ${bytes} bytes for ${DATA_BYTES} of data`);
  });

  it('the newest session received into the pool is paired: a tagged, read-only .skiff1', async (t) => {
    if (!ready_(t)) return;
    const out = model?.run('lvm', ['lvs', '--noheadings', '--separator=:::', '-o', 'lv_name,lv_attr,lv_tags', vg]) ?? '';
    const row = out
      .split('\n')
      .map((l) => l.trim().split(':::'))
      .find((cells) => cells[0] === 'vm-work-private.skiff1');
    assert.ok(row, `vm-work-private.skiff1 exists:\n${out}`);
    const tags = (row[2] ?? '').split(',');
    assert.ok(tags.includes('skiff'), tags.join(','));
    assert.ok(
      tags.some((tag) => tag.startsWith('arch-')),
      tags.join(','),
    );
    assert.ok(
      tags.some((tag) => /^S_\d{8}-\d{6}$/.test(tag)),
      tags.join(','),
    );
    assert.equal(row[1]?.[1], 'r', 'read-only snapshot');
  });

  it('the next send from the pool is incremental: it stores exactly the 2 changed chunks', async (t) => {
    if (!ready_(t)) return;
    // Through the model, so that the pool's block mapping follows the writes (thin_delta sees them).
    model?.write(`${vg}/vm-work-private`, 7 * CHUNK + 100, Buffer.alloc(10, 9));
    model?.write(`${vg}/vm-work-private`, 120 * CHUNK, Buffer.alloc(CHUNK, 3));
    latest = Buffer.from(original);
    latest.fill(9, 7 * CHUNK + 100, 7 * CHUNK + 110);
    latest.fill(3, 120 * CHUNK, 121 * CHUNK);
    const r = await skiff('send', 'vm-work-private', `--local=${vg}/vm-pool`);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /Queuing full scan/);
    const vid = readdirSync(dest).find(
      (n) => n.startsWith('Vol_') && readdirSync(join(dest, n)).filter((s) => s.startsWith('S_')).length === 2,
    );
    assert.ok(vid, 'vm-work-private has its second session');
    const newest = readdirSync(join(dest, vid))
      .filter((s) => s.startsWith('S_'))
      .sort()
      .at(-1);
    const chunks = readdirSync(join(dest, vid, newest ?? '', '000000000'));
    assert.deepEqual(chunks.sort(), ['x0000000000070000', 'x0000000000780000']);
  });

  it('--use-snapshot of the newest session reads no chunk; --use-snapshot-diff of the older one reads only what changed later', async (t) => {
    if (!ready_(t)) return;
    const vid = readdirSync(dest).find(
      (n) => n.startsWith('Vol_') && readdirSync(join(dest, n)).filter((s) => s.startsWith('S_')).length === 2,
    );
    assert.ok(vid);
    const [first] = readdirSync(join(dest, vid))
      .filter((s) => s.startsWith('S_'))
      .sort() as [string];
    // Every chunk file of the volume is moved away: a receive that read one would fail.
    const hidden = join(scratch.dir, 'hidden-chunks');
    renameSync(join(dest, vid), hidden);
    mkdirSync(join(dest, vid));
    for (const entry of readdirSync(hidden)) {
      if (!entry.startsWith('S_')) cpSync(join(hidden, entry), join(dest, vid, entry));
      else {
        mkdirSync(join(dest, vid, entry));
        for (const f of readdirSync(join(hidden, entry)).filter((f) => !/^[0-9a-f]{9}$/.test(f)))
          cpSync(join(hidden, entry, f), join(dest, vid, entry, f));
      }
    }
    try {
      model?.write(`${vg}/vm-work-private`, 0, Buffer.alloc(CHUNK, 0x77));
      const r = await skiff('receive', 'vm-work-private', `--local=${vg}/vm-pool`, '--use-snapshot');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Snapshot retrieved\./);
      assert.ok(readDevice(`/dev/${vg}/vm-work-private`, VOLUME).equals(latest), 'newest from the snapshot');
      assert.ok(thin('vm-work-private').writable);
      // The older session differs from the newest in chunks 7 and 120, which are zero chunks
      // there: nothing to read at all.
      const older = await skiff(
        'receive',
        'vm-work-private',
        `--local=${vg}/vm-pool`,
        '--use-snapshot-diff',
        `--session=${first.slice(2)}`,
      );
      assert.equal(older.code, 0, older.stderr);
      assert.match(older.stdout, /Using snapshot as baseline\./);
      const got = readDevice(`/dev/${vg}/vm-work-private`, VOLUME);
      const wrong = [...Array(VOLUME / CHUNK).keys()].filter(
        (c) => !got.subarray(c * CHUNK, (c + 1) * CHUNK).equals(original.subarray(c * CHUNK, (c + 1) * CHUNK)),
      );
      assert.deepEqual(wrong, [], `the older session over the snapshot copy\n${older.stdout}`);
    } finally {
      rmSync(join(dest, vid), { recursive: true });
      renameSync(hidden, join(dest, vid));
    }
    // Back to the newest session (the tests below start from it), from the snapshot again.
    const back = await skiff('receive', 'vm-work-private', `--local=${vg}/vm-pool`, '--use-snapshot');
    assert.equal(back.code, 0, back.stderr);
    assert.ok(readDevice(`/dev/${vg}/vm-work-private`, VOLUME).equals(latest));
    const none = await skiff('receive', 'vm-ro', `--local=${vg}/vm-pool`, '--req-snapshot');
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /Error: Snapshot not available for 'vm-ro' S_/);
  });

  it('an existing LV of another size is resized; a read-only session makes the LV read-only, and it can be received again', async (t) => {
    if (!ready_(t)) return;
    model?.run('lvm', ['lvcreate', '-V', '16m', '--thin', '-n', 'vm-ro', `${vg}/vm-pool`]);
    model?.write(`${vg}/vm-ro`, 0, Buffer.alloc(1024 * 1024, 0xaa));
    for (let round = 0; round < 2; round++) {
      const r = await skiff('receive', 'vm-ro', `--local=${vg}/vm-pool`);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /Creating/);
      const lv = thin('vm-ro');
      assert.equal(lv.size, VOLUME, 'resized to the session');
      assert.equal(lv.writable, false, 'read-only, as the session says (444)');
      assert.ok(readDevice(`/dev/${vg}/vm-ro`, VOLUME).equals(image(2)), 'old bytes gone, the volume there');
    }
  });

  it('--save-to=/dev/VG/LV of an existing thin LV: discarded, zero chunks not written', async (t) => {
    if (!ready_(t)) return;
    model?.run('lvm', ['lvcreate', '-V', '8m', '--thin', '-n', 'restored', `${vg}/vm-pool`]);
    model?.write(`${vg}/restored`, 0, Buffer.alloc(VOLUME, 0x55));
    assert.ok(allocated('restored') >= VOLUME);
    const r = await skiff('receive', 'vm-work-private', `--save-to=/dev/${vg}/restored`);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(readDevice(`/dev/${vg}/restored`, VOLUME).equals(latest), 'the LV holds the volume');
    // Five chunks hold data now (the three, and the two the incremental send stored).
    const bytes = allocated('restored');
    assert.ok(bytes <= 5 * CHUNK + 64 * 1024, `allocated ${bytes} bytes for 5 chunks of data`);
    const snapshots = Object.keys(model?.state().vgs[vg]?.lvs ?? {}).filter((n) => n.startsWith('restored.'));
    assert.deepEqual(snapshots, [], 'a --save-to receive pairs nothing');
  });

  it('--sparse-write of an older session into the pool: only the chunks that differ change', async (t) => {
    if (!ready_(t)) return;
    // The LV holds the newest session; the first one has zeros in chunks 7 and 120.
    const vid = readdirSync(dest).find(
      (n) => n.startsWith('Vol_') && readdirSync(join(dest, n)).filter((s) => s.startsWith('S_')).length === 2,
    );
    const first = readdirSync(join(dest, vid ?? ''))
      .filter((s) => s.startsWith('S_'))
      .sort()[0];
    assert.ok(readDevice(`/dev/${vg}/vm-work-private`, VOLUME).equals(latest));
    const r = await skiff('receive', 'vm-work-private', `--local=${vg}/vm-pool`, `--session=${first?.slice(2)}`, '--sparse-write');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Saving to tlvm pool '/dev/${vg}/vm-work-private'`));
    assert.match(r.stdout, new RegExp(`: OK  Diff bytes: ${2 * CHUNK}\\n`));
    assert.ok(readDevice(`/dev/${vg}/vm-work-private`, VOLUME).equals(original), 'the LV holds the first session');
    // Chunks 7 and 120 were discarded: the backing file holds the three data chunks again.
    const bytes = allocated('vm-work-private');
    assert.ok(bytes <= DATA_BYTES + 64 * 1024, `allocated ${bytes} bytes for ${DATA_BYTES} of data`);
  });

  it('a damaged chunk fails the receive with exit 2 and leaves the LV reading as zeros', async (t) => {
    if (!ready_(t)) return;
    // The first session of vm-work-private: its chunk at 0x50000 (chunk 5) is damaged.
    const volumes = readdirSync(dest).filter((n) => n.startsWith('Vol_'));
    let damaged = '';
    for (const vid of volumes) {
      for (const session of readdirSync(join(dest, vid)).filter((n) => n.startsWith('S_'))) {
        const path = join(dest, vid, session, '000000000', 'x0000000000050000');
        try {
          const bytes = readFileSync(path);
          if (damaged === '') damaged = path;
          bytes[20] = (bytes[20] as number) ^ 1;
          writeFileSync(`${path}`, bytes);
        } catch {
          // not in this session
        }
      }
    }
    assert.notEqual(damaged, '');
    try {
      const r = await skiff('receive', 'vm-work-private', `--local=${vg}/vm-pool`);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /x0000000000050000.*was discarded/);
      const content = readDevice(`/dev/${vg}/vm-work-private`, VOLUME);
      assert.ok(
        content.every((b) => b === 0),
        'nothing of the partial receive is left',
      );
    } finally {
      for (const vid of volumes) {
        for (const session of readdirSync(join(dest, vid)).filter((n) => n.startsWith('S_'))) {
          const path = join(dest, vid, session, '000000000', 'x0000000000050000');
          try {
            const bytes = readFileSync(path);
            bytes[20] = (bytes[20] as number) ^ 1;
            writeFileSync(path, bytes);
          } catch {
            // not in this session
          }
        }
      }
    }
  });

  it('--save-to a missing /dev path is refused: no file is made under /dev', async (t) => {
    if (!ready_(t)) return;
    const r = await skiff('receive', 'vm-work-private', `--save-to=/dev/${vg}/nothere`);
    assert.equal(r.code, 9, r.stderr);
    assert.match(r.stderr, /does not exist: create the volume first, or receive into an LVM thin pool with --local=VG\/POOL/);
    assert.ok(!lvNames().includes('nothere'));
    assert.throws(() => statSync(`/dev/${vg}/nothere`));
  });

  it('--local that is missing, a VG without its pool or a thin volume is refused with a clear error (exit 7)', async (t) => {
    if (!ready_(t)) return;
    const r = await skiff('receive', 'vm-work-private', `--local=${join(scratch.dir, 'not-there')}`);
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, /Local path not found/);
    const noPool = await skiff('receive', 'vm-work-private', `--local=${vg}`);
    assert.equal(noPool.code, 7, noPool.stderr);
    assert.match(noPool.stderr, /is a volume group; give its thin pool as --local=/);
    const thinVolume = await skiff('receive', 'vm-work-private', `--local=${vg}/vm-ro`);
    assert.equal(thinVolume.code, 7, thinVolume.stderr);
    assert.match(thinVolume.stderr, /is a thin volume, not a thin pool/);
  });
});

/** Names of the VG's LVs. */
function lvNames(): string[] {
  return Object.keys(model?.state().vgs[vg]?.lvs ?? {}).sort();
}

async function archiveUuid(): Promise<string> {
  return (await openArchive(new LocalStore(dest))).ini.uuid;
}

describe('clean-up of Skiff snapshots in an LVM pool (model)', () => {
  it('arch-check --clean removes this archive orphans, keeps paired ones, other archives and Wyng snapshots', async (t) => {
    if (!ready_(t)) return;
    const uuid = await archiveUuid();
    const m = model as LvmModel;
    m.run('lvm', ['lvcreate', '-V', '4m', '--thin', '-n', 'gone', `${vg}/vm-pool`]);
    const snap = (origin: string, name: string, tags: string[]) =>
      m.run('lvm', ['lvcreate', '-kn', '-ay', '-pr', ...tags.map((tag) => `--addtag=${tag}`), '-s', `${vg}/${origin}`, '-n', name]);
    snap('gone', 'gone.skiff1', ['skiff', `arch-${uuid}`]); // a volume this archive no longer has
    snap('vm-work-private', 'vm-work-private.skiff2', ['skiff', `arch-${uuid}`]); // a send's leftover
    snap('gone', 'other.skiff1', ['skiff', 'arch-11111111-2222-3333-4444-555555555555']); // another archive's
    snap('vm-work-private', 'vm-work-private.tick', ['wyng', `arch-${uuid}`]); // Wyng's
    snap('gone', 'gone2.skiff1', [`arch-${uuid}`]); // the name, but not the tag: not a Skiff snapshot
    assert.ok(lvNames().includes('vm-work-private.skiff1'), 'paired by the receive above');

    const r = await skiff('arch-check', '--clean', `--local=${vg}/vm-pool`, '--force');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Removed 2 orphan snapshots/);
    const left = lvNames();
    for (const kept of ['vm-work-private.skiff1', 'other.skiff1', 'vm-work-private.tick', 'gone2.skiff1', 'gone', 'vm-work-private'])
      assert.ok(left.includes(kept), `${kept} kept: ${left.join(' ')}`);
    for (const removed of ['gone.skiff1', 'vm-work-private.skiff2']) assert.ok(!left.includes(removed), `${removed} removed`);
  });

  it("delete VOL --local=VG/POOL removes the volume's Skiff snapshots, not its LV or Wyng's", async (t) => {
    if (!ready_(t)) return;
    const r = await skiff('delete', 'vm-work-private', `--local=${vg}/vm-pool`, '--force');
    assert.equal(r.code, 0, r.stderr);
    const left = lvNames();
    assert.ok(!left.includes('vm-work-private.skiff1'), left.join(' '));
    for (const kept of ['vm-work-private', 'vm-work-private.tick', 'other.skiff1']) assert.ok(left.includes(kept), `${kept} kept`);
  });
});
