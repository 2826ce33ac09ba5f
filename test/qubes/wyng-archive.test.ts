// Cross-tool: an archive Wyng 0.8 wrote in wyng-util-qubes' layout (test/fixtures/wyng-qubes:
// vm-NAME-private volumes, tag qubes, wyng-qubes-metadata = tar.gz of ./qubes.xml and a
// firewall.xml made by GNU tar) is listed and restored by skiff-qubes on the Qubes model (Qubes
// is modelled: Admin API on a Unix socket, volumes as thin LVs of the LVM thin-pool model).
// The VMs are deleted first; they come back with the archived settings and byte-identical volumes.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { scratchDir } from '../helpers/cli.js';
import { PROJECT_ROOT } from '../helpers/paths.js';
import { modelReady, type QubesCliResult, type QubesHostModel, runSkiffQubes, startQubesModel } from '../qubes-model/harness.js';

const FIXTURE = join(PROJECT_ROOT, 'test/fixtures/wyng-qubes');
const SUMS = new Map(
  readFileSync(join(FIXTURE, 'SHA256SUMS'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(/\s+/).reverse() as [string, string]),
);
const scratch = scratchDir('skiff-qubes-wyng-');
let host: QubesHostModel | null = null;
let dest = '';

function skiffQubes(...args: string[]): Promise<QubesCliResult> {
  return runSkiffQubes(args, { dest, host, cwd: scratch.dir });
}

function ready(t: TestContext): QubesHostModel | null {
  return modelReady(t, host);
}

before(async () => {
  if (process.getuid?.() !== 0) return;
  host = await startQubesModel(scratch.dir, { privateSize: 4 * 1024 * 1024 });
  process.env['PATH'] = host.env['PATH'];
  process.env['SKIFF_LVM_MODEL_DIR'] = host.lvm.dir;
  dest = join(scratch.dir, 'archive');
  cpSync(join(FIXTURE, 'archive'), dest, { recursive: true });
});

after(async () => {
  try {
    await host?.close();
  } finally {
    scratch.cleanup();
  }
});

describe('skiff-qubes restores what Wyng wrote for wyng-util-qubes (on the Qubes model)', () => {
  it('lists the archived VMs', async (t) => {
    if (!ready(t)) return;
    const r = await skiffQubes('list');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Latest: {11}VM Name:\n[0-9]{8}-[0-9]{6} {2}personal\n[0-9]{8}-[0-9]{6} {2}work\n/m);
    assert.match(r.stdout, /^Encryption: OFF$/m);
  });

  it('recreates work and personal with the archived settings and byte-identical volumes', async (t) => {
    const h = ready(t);
    if (!h) return;
    await h.admin.call('admin.vm.Remove', 'work');
    await h.admin.call('admin.vm.Remove', 'personal');
    const r = await skiffQubes('restore', 'work', 'personal');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const vm of ['work', 'personal']) {
      const lv = `vm-${vm}-private`;
      const digest: string = createHash('sha256')
        .update(readFileSync(h.lvPath(lv)).subarray(0, 4 * 1024 * 1024))
        .digest('hex');
      assert.equal(digest, SUMS.get(lv), lv);
    }
    assert.equal(await h.admin.call('admin.vm.property.Get', 'work', 'memory'), 'default=False type=int 800');
    assert.equal(await h.admin.call('admin.vm.property.Get', 'work', 'netvm'), 'default=False type=vm sys-firewall');
    assert.equal(await h.admin.call('admin.vm.property.Get', 'personal', 'template'), 'default=False type=vm debian-12-xfce');
    assert.equal(await h.admin.call('admin.vm.feature.Get', 'work', 'service.crond'), '1');
    assert.deepEqual((await h.admin.call('admin.vm.tag.List', 'work')).split('\n').filter(Boolean).sort(), [
      'created-by-dom0',
      'project-x',
    ]);
  });
});
