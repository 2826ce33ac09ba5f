// skiff-qubes on the Qubes model (test/qubes-model: Qubes is modelled — Admin API on a Unix socket,
// qubes.xml, volumes as thin LVs of the LVM thin-pool model; no Xen): which VMs a backup takes
// (--includes, --exclude), a template restored before the AppVM based on it (both deleted),
// --pool for VMs that must be created, --session, --pref=NAME::x, and list.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { modelReady, type QubesCliResult, type QubesHostModel, readLv, runSkiffQubes, startQubesModel } from '../qubes-model/harness.js';

const SIZE = 2 * 1024 * 1024;
const scratch = scratchDir('skiff-qubes-select-');
let host: QubesHostModel | null = null;
let dest = '';

function skiffQubes(...args: string[]): Promise<QubesCliResult> {
  return runSkiffQubes(args, { dest, host, cwd: scratch.dir });
}

async function archiveVolumes(): Promise<string[]> {
  const listed = await runSkiffInProcess([`--dest=file:${dest}`, '--json', 'list']);
  return Object.keys((JSON.parse(listed.stdout.slice(listed.stdout.indexOf('{'))) as { volumes: object }).volumes).sort();
}

function ready(t: TestContext): QubesHostModel | null {
  return modelReady(t, host);
}

const templateRoot = Buffer.alloc(300_000, 0x5a);
const personalData = Buffer.alloc(200_000, 0x33);
let firstSession = '';

before(async () => {
  if (process.getuid?.() !== 0) return;
  host = await startQubesModel(scratch.dir, {
    privateSize: SIZE,
    rootSize: SIZE,
    withVolumes: ['work', 'personal', 'vault', 'debian-12-xfce', 'fedora-41-xfce'],
  });
  process.env['PATH'] = host.env['PATH'];
  process.env['SKIFF_LVM_MODEL_DIR'] = host.lvm.dir;
  dest = join(scratch.dir, 'archive');
  const init = await runSkiffInProcess(['arch-init', `--dest=file:${dest}`, '--encrypt=off']);
  assert.equal(init.code, 0, init.stderr);
  host.lvm.write(`${host.vg}/vm-debian-12-xfce-root`, 4096, templateRoot);
  host.lvm.write(`${host.vg}/vm-personal-private`, 65536, personalData);
  // Only work, personal and vault are to be backed up with --includes.
  for (const vm of ['sys-net', 'sys-firewall', 'legacy', 'default-dvm', 'disp-print']) {
    await host.admin.call('admin.vm.property.Set', vm, 'include_in_backups', 'False');
  }
});

after(async () => {
  try {
    await host?.close();
  } finally {
    scratch.cleanup();
  }
});

describe('skiff-qubes selection, restore order, --pool, --session and list (on the Qubes model)', () => {
  it('backup --includes --exclude=vault takes the VMs marked include_in_backups, less vault; a template with its root', async (t) => {
    const h = ready(t);
    if (!h) return;
    const r = await skiffQubes('backup', '--includes', '--exclude=vault', 'debian-12-xfce');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^Selected for backup:\n debian-12-xfce, personal, work$/m);
    assert.deepEqual(await archiveVolumes(), [
      'vm-debian-12-xfce-private',
      'vm-debian-12-xfce-root',
      'vm-personal-private',
      'vm-work-private',
      'wyng-qubes-metadata',
    ]);
    const list = await skiffQubes('list');
    assert.equal(list.code, 0, list.stderr);
    firstSession = /^([0-9]{8}-[0-9]{6}) {2}personal$/m.exec(list.stdout)?.[1] ?? '';
    assert.ok(firstSession, list.stdout);
    assert.match(
      list.stdout,
      /^\* Archived Qubes VMs \*\n\nLatest: {11}VM Name:\n[0-9-]+ {2}debian-12-xfce\n[0-9-]+ {2}personal\n[0-9-]+ {2}work\n/m,
    );
  });

  it('list --session names the qubes of the session; --pool-info the pools', async (t) => {
    const h = ready(t);
    if (!h) return;
    const r = await skiffQubes('list', `--session=${firstSession}`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Qubes in session ${firstSession}:\\n  debian-12-xfce\\n  personal\\n  work\\n`, 'm'));
    const pools = await skiffQubes('list', '--pool-info');
    assert.match(pools.stdout, new RegExp(`^ vm-pool {17}: lvm_thin {4}, ${h.vg}/vm-pool$`, 'm'));
    const none = await skiffQubes('list', '--session=20000101-000000');
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^No match for session 20000101-000000\.$/m);
  });

  it('restore of an AppVM and its deleted template creates the template first, in --pool, byte-identical', async (t) => {
    const h = ready(t);
    if (!h) return;
    await h.admin.call('admin.vm.Remove', 'personal');
    await h.admin.call('admin.vm.Remove', 'debian-12-xfce');
    h.model.addLvmPool('vm-pool2', 'vm-pool2');
    const r = await skiffQubes('restore', '--pool=vm-pool2', 'personal', 'debian-12-xfce');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(r.stdout.indexOf('Created TemplateVM debian-12-xfce') < r.stdout.indexOf('Created AppVM personal'), r.stdout);
    assert.equal(h.model.domains.get('personal')?.volumes['private']?.pool, 'vm-pool2');
    const lv = h.lvm.state().vgs[h.vg]?.lvs['vm-personal-private'];
    assert.ok(lv?.kind === 'thin' && lv.pool === 'vm-pool2', 'the LV is in vm-pool2');
    assert.ok(
      readLv(h, 'vm-debian-12-xfce-root', 4096 + templateRoot.length)
        .subarray(4096)
        .equals(templateRoot),
    );
    assert.ok(
      readLv(h, 'vm-personal-private', 65536 + personalData.length)
        .subarray(65536)
        .equals(personalData),
    );
    assert.equal(await h.admin.call('admin.vm.property.Get', 'personal', 'template'), 'default=False type=vm debian-12-xfce');
    assert.deepEqual((await h.admin.call('admin.vm.tag.List', 'personal')).split('\n').filter(Boolean).sort(), [
      'created-by-dom0',
      'family',
    ]);
  });

  it('--session picks an older session; --pref=NAME::x leaves that pref alone; a VM not in the session is an error (exit 2)', async (t) => {
    const h = ready(t);
    if (!h) return;
    h.lvm.write(`${h.vg}/vm-work-private`, 0, Buffer.alloc(4096, 0x77));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal((await skiffQubes('backup', 'work')).code, 0);
    await h.admin.call('admin.vm.property.Set', 'work', 'memory', '1500');
    await h.admin.call('admin.vm.property.Set', 'work', 'vcpus', '4');
    const r = await skiffQubes('restore', `--session=${firstSession}`, '--pref=vcpus::x', 'work', 'vault');
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /^Not matched:\n vault$/m);
    assert.match(r.stderr, /^Errors for VMs: vault$/m);
    assert.ok(readLv(h, 'vm-work-private', 4096).equals(Buffer.alloc(4096)), 'the older session has zeros there');
    assert.equal(await h.admin.call('admin.vm.property.Get', 'work', 'memory'), 'default=False type=int 800');
    assert.equal(await h.admin.call('admin.vm.property.Get', 'work', 'vcpus'), 'default=False type=int 4');
  });

  it('restore without names takes every VM of the session less --exclude', async (t) => {
    const h = ready(t);
    if (!h) return;
    await h.admin.call('admin.vm.tag.Set', 'personal', 'stray');
    const r = await skiffQubes('restore', `--session=${firstSession}`, '--exclude=work', '--exclude=debian-12-xfce');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^VMs matched in session ${firstSession}:\\n personal$`, 'm'));
    assert.ok(!(await h.admin.call('admin.vm.tag.List', 'personal')).includes('stray'), 'personal was restored');
    assert.equal(await h.admin.call('admin.vm.property.Get', 'work', 'vcpus'), 'default=False type=int 4', 'work was left alone');
  });
});
