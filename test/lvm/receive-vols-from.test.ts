// receive --local-from into an LVM thin pool (behavior spec §9.6), on the thin-pool model
// (test/lvm-model/README.md: dm-thin is modelled, each LV is a loop device over a sparse file):
// what wyng-util-qubes runs to restore VMs, `receive --force --sparse-write --local-from=FILE`
// with a set for VG/POOL. A volume with an alias is written to the LV of the alias (the archive
// name's LV is not touched) and paired under that name, so --use-snapshot serves it afterwards.
//
// The CLI runs in this process (the stand-ins are put on this process's PATH, which the in-process
// runs inherit); the archive is unencrypted, so no passphrase is asked.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { readDevice, requireSystem } from '../helpers/system.js';
import { LVM_MODEL_TOOLS, type LvmModel, startLvmModel, uniqueVgName } from '../lvm-model/harness.js';

const CHUNK = 64 * 1024;
const VOLUME = 4 * 1024 * 1024;
const scratch = scratchDir('skiff-lvm-receive-from-');

/** 4 MiB: a few data chunks (different per seed), zeros elsewhere. */
function image(seed: number): Buffer {
  const bytes = Buffer.alloc(VOLUME);
  for (const chunk of [0, 3 + seed, 40]) for (let i = 0; i < CHUNK; i++) bytes[chunk * CHUNK + i] = (i * 13 + seed) % 251 || 1;
  return bytes;
}

let model: LvmModel | null = null;
let vg = '';
let dest = '';

function skiff(...args: string[]) {
  return runSkiffInProcess([`--dest=file:${dest}`, ...args]);
}

function lvNames(): string[] {
  const out = model?.run('lvm', ['lvs', '--noheadings', '-o', 'lv_name', vg]) ?? '';
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

before(async () => {
  if (process.getuid?.() !== 0) return;
  model = startLvmModel(scratch.dir);
  process.env['PATH'] = model.env['PATH'];
  process.env['SKIFF_LVM_MODEL_DIR'] = model.dir;
  vg = uniqueVgName('skiffrfrom');
  model.run('lvm', ['vgcreate', vg, '/dev/model-pv']);
  model.run('lvm', ['lvcreate', '--type', 'thin-pool', '-L', '128m', '-n', 'vm-pool', vg]);
  dest = join(scratch.dir, 'archive');
  const init = await runSkiffInProcess(['arch-init', `--dest=file:${dest}`, '--encrypt=off', '--chunk-factor=1']);
  assert.equal(init.code, 0, init.stderr);
  for (const [name, seed] of [
    ['vm-a-private', 1],
    ['vm-b-private', 2],
  ] as const) {
    const source = join(scratch.dir, `${name}.img`);
    writeFileSync(source, image(seed));
    const sent = await skiff('send', `--import-other-from=${name}:|:${source}`);
    assert.equal(sent.code, 0, sent.stderr);
  }
});

after(() => {
  try {
    if (model && vg !== '') model.run('lvm', ['vgremove', '-f', vg]);
  } finally {
    model?.close();
    scratch.cleanup();
  }
});

describe('receive --local-from into an LVM thin pool (model)', () => {
  it('receives the set into VG/POOL, an aliased volume into the LV of its alias, paired there', async (t) => {
    if (!requireSystem(t, LVM_MODEL_TOOLS)) return;
    // The clone's LV exists already with other bytes: --sparse-write writes over it.
    model?.run('lvm', ['lvcreate', '-V', '4m', '--thin', '-n', 'vm-c-private', `${vg}/vm-pool`]);
    model?.write(`${vg}/vm-c-private`, 0, Buffer.alloc(2 * CHUNK, 0xaa));
    const sets = join(scratch.dir, 'sets.json');
    writeFileSync(
      sets,
      JSON.stringify({
        [`${vg}/vm-pool`]: [
          ['vm-a-private', null],
          ['vm-b-private', 'vm-c-private'],
        ],
      }),
    );
    const r = await skiff('receive', '--force', '--sparse-write', `--local-from=${sets}`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Saving to tlvm pool '/dev/${vg}/vm-c-private'`));
    assert.ok(readDevice(`/dev/${vg}/vm-a-private`, VOLUME).equals(image(1)), 'vm-a-private byte-identical');
    assert.ok(readDevice(`/dev/${vg}/vm-c-private`, VOLUME).equals(image(2)), 'vm-b-private byte-identical in the LV of its alias');
    const names = lvNames();
    assert.ok(!names.includes('vm-b-private'), `no LV of the archive name: ${names.join(' ')}`);
    for (const lv of ['vm-a-private.skiff1', 'vm-c-private.skiff1']) assert.ok(names.includes(lv), `${lv} paired: ${names.join(' ')}`);

    // Paired under the alias: --use-snapshot serves the newest session from vm-c-private.skiff1.
    model?.write(`${vg}/vm-c-private`, 0, Buffer.alloc(CHUNK, 0x55));
    const again = await skiff('receive', '--force', '--use-snapshot', `--local-from=${sets}`);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Receiving volume 'vm-b-private'[^\n]*\n[^\n]*vm-c-private'\nSnapshot retrieved\./);
    assert.ok(readDevice(`/dev/${vg}/vm-c-private`, VOLUME).equals(image(2)), 'restored from its snapshot');
    assert.equal([...lvNames()].filter((n) => n.startsWith('vm-b-private')).length, 0, 'nothing made under the archive name');
  });
});
