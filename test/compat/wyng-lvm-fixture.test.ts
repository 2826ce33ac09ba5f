// An archive that real Wyng 0.8 sent from a thin LV of the LVM thin-pool model (test/fixtures/
// wyng-lvm, made by test/compat/wyng-lvm-fixture.sh: a full session, then an incremental one of 3
// chunks from thin_delta): Skiff restores every session byte-identical to a file and into
// --local=VG/POOL on the model (the kernel side, dm-thin, is modelled: test/lvm-model/README.md),
// and receiving the newest session into the pool pairs the LV with it.
//
// The CLI runs in this process; the stand-ins are put first on this process's PATH, and the
// scrypt results are memoized for the run (the fixture's keys are derived once).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { kdfMemoEnv, scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { PROJECT_ROOT } from '../helpers/paths.js';
import { requireSystem } from '../helpers/system.js';
import { LVM_MODEL_TOOLS, type LvmModel, startLvmModel, uniqueVgName } from '../lvm-model/harness.js';

const FIXTURE = join(PROJECT_ROOT, 'test/fixtures/wyng-lvm');
const ARCHIVE = join(FIXTURE, 'archive');
const VOLUME = 'vm-fx-private';
const PASSPHRASE = readFileSync(join(FIXTURE, 'passphrase'), 'utf8').trim();
/** sha256 of the LV at each session, oldest first. */
const SUMS = readFileSync(join(FIXTURE, 'SHA256SUMS'), 'utf8')
  .trim()
  .split('\n')
  .map((line) => line.split(/\s+/)[0] ?? '');
const SESSIONS = readdirSync(join(ARCHIVE, readdirSync(ARCHIVE).find((n) => n.startsWith('Vol_')) ?? ''))
  .filter((n) => n.startsWith('S_'))
  .sort()
  .map((n) => n.slice(2));

const scratch = scratchDir('skiff-wyng-lvm-');
let model: LvmModel | null = null;
let vg = '';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const skiff = (...args: string[]) => runSkiffInProcess([`--dest=file:${ARCHIVE}`, `--passcmd=echo ${PASSPHRASE}`, ...args]);

before(() => {
  Object.assign(process.env, kdfMemoEnv(false));
  if (process.getuid?.() !== 0) return;
  model = startLvmModel(scratch.dir);
  process.env['PATH'] = model.env['PATH'];
  process.env['SKIFF_LVM_MODEL_DIR'] = model.dir;
  vg = uniqueVgName('skiffwfx');
  model.run('lvm', ['vgcreate', vg, '/dev/model-pv']);
  model.run('lvm', ['lvcreate', '--type', 'thin-pool', '-L', '64m', '-n', 'vm-pool', vg]);
});

after(() => {
  try {
    if (model) model.run('lvm', ['vgremove', '-f', vg]);
  } finally {
    model?.close();
    scratch.cleanup();
  }
});

describe('Wyng fixture sent from an LVM thin pool (model)', () => {
  it('has a full and an incremental session', () => {
    assert.equal(SESSIONS.length, 2);
    assert.equal(SUMS.length, 2);
  });

  it('receive --save-to restores every session byte-identical', async () => {
    for (const [i, label] of SESSIONS.entries()) {
      const target = join(scratch.dir, `${VOLUME}.${label}`);
      const r = await skiff('receive', VOLUME, `--session=${label}`, `--save-to=${target}`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(sha256(readFileSync(target)), SUMS[i], `session ${label}`);
    }
  });

  it('receive --local=VG/POOL restores every session byte-identical into the pool, and pairs the newest', async (t: TestContext) => {
    if (!requireSystem(t, LVM_MODEL_TOOLS)) return;
    for (const [i, label] of SESSIONS.entries()) {
      const r = await skiff('receive', VOLUME, `--session=${label}`, `--local=${vg}/vm-pool`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(sha256(readFileSync(`/dev/${vg}/${VOLUME}`)), SUMS[i], `session ${label}`);
    }
    const lvs = model?.state().vgs[vg]?.lvs ?? {};
    const snapshot = lvs[`${VOLUME}.skiff1`];
    assert.ok(snapshot?.tags.includes('skiff'), 'the newest session is paired');
    assert.ok(snapshot?.tags.includes(`S_${SESSIONS[1]}`), snapshot?.tags.join(','));
  });
});
