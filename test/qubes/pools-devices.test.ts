// skiff-qubes on the Qubes model (Qubes is modelled: the Admin API on a Unix socket, qubes.xml,
// volumes as thin LVs of the LVM thin-pool model, stand-ins for sudo and the appmenus tools; no
// Xen) where wyng-util-qubes does more than one pool, one VM at a time:
// - VMs in two pools are backed up in ONE skiff send (a --local-from file: one session, one
//   wyng-qubes-metadata) and restored in ONE skiff receive, each VM into its own pool, a VM that
//   must be created into --pool;
// - a VM's device assignments (Qubes 4.3: admin.vm.device.CLASS.Assign/Unassign; 4.2:
//   Attach/Detach) and its notes come back as they were in the backup;
// - after restore, the app menus are updated with the tools wyng-util-qubes runs
//   (`sudo -u #1000 qvm-sync-appmenus` for templates, with the VM started and shut down again;
//   `sudo -u #1000 qvm-appmenus --update` for every VM), their failures not failing the restore;
// - the questions wyng-util-qubes asks on a terminal without -u (restore over existing VMs,
//   delete): "n" or end of input stops with exit 0 and changes nothing, "y" goes on.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readTarGz } from '../../source-agent/qubes/metadata-tar.js';
import { scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { modelReady, type QubesCliAt, type QubesHostModel, readLv, runSkiffQubes, startQubesModel } from '../qubes-model/harness.js';

const SIZE = 2 * 1024 * 1024;
const scratch = scratchDir('skiff-qubes-pools-');
let host: QubesHostModel | null = null;
let dest = '';
/** pool2's volume group (a second disk). */
let vg2 = '';

function skiffQubes(args: string[], more: Partial<QubesCliAt> = {}) {
  return runSkiffQubes(args, { dest, host, cwd: scratch.dir, ...more });
}

function pattern(seed: number): { offset: number; data: Buffer }[] {
  return [0, 900_000].map((offset, i) => ({ offset, data: Buffer.alloc(70_000 + i * 999, (seed * 37 + i) % 250 || 1) }));
}

function image(seed: number): Buffer {
  const bytes = Buffer.alloc(SIZE);
  for (const { offset, data } of pattern(seed)) data.copy(bytes, offset);
  return bytes;
}

/** A 4.3 assignment payload, as qubesadmin serializes one. */
function assignment(backend: string, port: string, devclass: string, mode: string, frontend: string, options: Record<string, string> = {}) {
  const fields = { device_id: '*', port_id: port, devclass, backend_domain: backend, mode, frontend_domain: frontend };
  return [...Object.entries(fields), ...Object.entries(options).map(([k, v]) => [`_${k}`, v])].map(([k, v]) => `${k}='${v}'`).join(' ');
}

/** The VM's assignments per class, empty classes left out (model state). */
function devicesOf(h: QubesHostModel, vm: string) {
  return Object.fromEntries(Object.entries(h.model.domains.get(vm)!.devices).filter(([, list]) => list.length > 0));
}

function archiveJson(listed: string) {
  return JSON.parse(listed.slice(listed.indexOf('{'))) as { volumes: Record<string, { sessions: Record<string, unknown> }> };
}

const WORK_DEVICES = {
  pci: [{ backend: 'dom0', port: '00_1f.6', mode: 'required', options: { 'no-strict-reset': 'True' } }],
  usb: [{ backend: 'sys-net', port: '2-1', mode: 'auto-attach', options: {} }],
};

before(async () => {
  if (process.getuid?.() !== 0) return;
  host = await startQubesModel(scratch.dir, { privateSize: SIZE, rootSize: SIZE, withVolumes: ['work', 'debian-12-xfce'] });
  process.env['PATH'] = host.env['PATH'];
  process.env['SKIFF_LVM_MODEL_DIR'] = host.lvm.dir;
  vg2 = host.model.addLvmPool('pool2', 'pool2', '64m', true);
  await host.admin.call('admin.vm.CreateInPool.AppVM', 'dom0', 'fedora-41-xfce', 'name=notes label=green pool=pool2');
  host.lvm.writeMany(`${host.vg}/vm-work-private`, pattern(1));
  host.lvm.writeMany(`${vg2}/vm-notes-private`, pattern(2));
  await host.admin.call(
    'admin.vm.device.pci.Assign',
    'work',
    'dom0+00_1f.6:*',
    assignment('dom0', '00_1f.6', 'pci', 'required', 'work', { 'no-strict-reset': 'True' }),
  );
  await host.admin.call('admin.vm.device.usb.Assign', 'work', 'sys-net+2-1:*', assignment('sys-net', '2-1', 'usb', 'auto-attach', 'work'));
  await host.admin.call('admin.vm.notes.Set', 'work', '', 'the work qube\n');
  dest = join(scratch.dir, 'archive');
  const init = await runSkiffInProcess(['arch-init', `--dest=file:${dest}`, '--encrypt=off']);
  assert.equal(init.code, 0, init.stderr);
});

after(async () => {
  try {
    await host?.close();
  } finally {
    scratch.cleanup();
  }
});

describe('skiff-qubes across pools, with devices, app menus and questions (on the Qubes model)', () => {
  it('backs up VMs of two pools in one skiff send with --local-from: one session, one wyng-qubes-metadata (notes.txt in it)', async (t) => {
    const h = modelReady(t, host);
    if (!h) return;
    assert.deepEqual(devicesOf(h, 'work'), WORK_DEVICES);
    const skiffCalls: string[][] = [];
    const r = await skiffQubes(['backup', '--check-after-send', 'work', 'notes', 'debian-12-xfce'], { skiffCalls });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(skiffCalls.at(-1)?.slice(-2), ['--session=newest', 'arch-check'], 'checked after the send');
    const sends = skiffCalls.filter((c) => c.includes('send'));
    assert.equal(sends.length, 1, JSON.stringify(skiffCalls));
    assert.ok(
      sends[0]!.some((a) => a.startsWith('--local-from=')),
      sends[0]!.join(' '),
    );
    const json = archiveJson((await runSkiffInProcess([`--dest=file:${dest}`, '--json', 'list'])).stdout);
    assert.deepEqual(Object.keys(json.volumes).sort(), [
      'vm-debian-12-xfce-private',
      'vm-debian-12-xfce-root',
      'vm-notes-private',
      'vm-work-private',
      'wyng-qubes-metadata',
    ]);
    assert.equal(new Set(Object.values(json.volumes).flatMap((v) => Object.keys(v.sessions))).size, 1, 'one session');
    const tarPath = join(scratch.dir, 'meta.tgz');
    assert.equal((await runSkiffInProcess([`--dest=file:${dest}`, `--save-to=${tarPath}`, 'receive', 'wyng-qubes-metadata'])).code, 0);
    assert.equal(readTarGz(readFileSync(tarPath)).get('appvms/work/notes.txt')?.toString(), 'the work qube\n');
  });

  it('restores across pools in one skiff receive, each VM into its pool (--pool for one created), with its devices, notes and app menus', async (t) => {
    const h = modelReady(t, host);
    if (!h) return;
    h.lvm.writeMany(`${h.vg}/vm-work-private`, pattern(9));
    await h.admin.call('admin.vm.device.pci.Unassign', 'work', 'dom0+00_1f.6:*');
    await h.admin.call('admin.vm.device.block.Assign', 'work', 'dom0+sda:*', assignment('dom0', 'sda', 'block', 'auto-attach', 'work'));
    await h.admin.call('admin.vm.notes.Set', 'work', '', 'changed\n');
    await h.admin.call('admin.vm.Remove', 'notes');
    const skiffCalls: string[][] = [];
    h.model.calls.length = 0;
    const r = await skiffQubes(['restore', '--pool=pool2', 'work', 'notes', 'debian-12-xfce'], { skiffCalls });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const receives = skiffCalls.filter((c) => c.includes('receive') && !c.includes('wyng-qubes-metadata'));
    assert.equal(receives.length, 1, JSON.stringify(skiffCalls));
    for (const word of ['--force', '--sparse-write', '--use-snapshot']) assert.ok(receives[0]!.includes(word), receives[0]!.join(' '));
    assert.ok(receives[0]!.some((a) => a.startsWith('--local-from=')));
    assert.match(await h.admin.call('admin.vm.volume.Info', 'notes', 'private'), /^pool=pool2$/m, 'created in --pool');
    assert.match(await h.admin.call('admin.vm.volume.Info', 'work', 'private'), /^pool=vm-pool$/m, 'restored in its own pool');
    assert.ok(readLv(h, 'vm-work-private', SIZE).equals(image(1)), 'vm-work-private byte-identical');
    assert.ok(
      readLv({ ...h, lvPath: (lv) => `/dev/${vg2}/${lv}` }, 'vm-notes-private', SIZE).equals(image(2)),
      'vm-notes-private (pool2) byte-identical',
    );
    assert.deepEqual(devicesOf(h, 'work'), WORK_DEVICES);
    assert.equal(await h.admin.call('admin.vm.notes.Get', 'work'), 'the work qube\n');
    // App menus: the template's synced with it running, then every VM's updated; the tools' exit 1 is not an error.
    const log = h.toolLog.trim().split('\n');
    assert.deepEqual(log.slice(0, 4), [
      'sudo -u #1000 qvm-sync-appmenus debian-12-xfce',
      'qvm-sync-appmenus debian-12-xfce',
      'sudo -u #1000 qvm-appmenus --update debian-12-xfce',
      'qvm-appmenus --update debian-12-xfce',
    ]);
    assert.deepEqual(log.slice(4).sort(), [
      'qvm-appmenus --update notes',
      'qvm-appmenus --update work',
      'sudo -u #1000 qvm-appmenus --update notes',
      'sudo -u #1000 qvm-appmenus --update work',
    ]);
    assert.match(r.stdout, /^ Running qvm-sync-appmenus for debian-12-xfce$/m);
    const start = h.model.calls.indexOf('admin.vm.Start debian-12-xfce');
    assert.ok(start !== -1 && h.model.calls.indexOf('admin.vm.Shutdown debian-12-xfce') > start, h.model.calls.join('\n'));
    assert.equal(h.model.domains.get('debian-12-xfce')!.power, 'Halted');
  });

  it('asks before restoring over existing VMs on a terminal: "n" or end of input stops (exit 0), "y" restores', async (t) => {
    const h = modelReady(t, host);
    if (!h) return;
    h.lvm.writeMany(`${h.vg}/vm-work-private`, pattern(5));
    const changed = readLv(h, 'vm-work-private', SIZE);
    for (const answers of ['n\n', '']) {
      const skiffCalls: string[][] = [];
      const r = await skiffQubes(['restore', 'work'], { answers, skiffCalls });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^Warning: {2}Restoring to existing VMs will overwrite them\.\.\.\n work\nContinue \[y\/N\]\? /m);
      assert.doesNotMatch(r.stdout, /Done\./);
      if (answers === '') assert.match(r.stdout + r.stderr, /no answer \(end of input\): taken as no/);
      assert.equal(skiffCalls.filter((c) => c.includes('receive') && !c.includes('wyng-qubes-metadata')).length, 0);
      assert.ok(readLv(h, 'vm-work-private', SIZE).equals(changed), 'nothing restored');
    }
    const yes = await skiffQubes(['restore', 'work'], { answers: 'y\n' });
    assert.equal(yes.code, 0, yes.stdout + yes.stderr);
    assert.match(yes.stdout, /Continue \[y\/N\]\? /);
    assert.ok(readLv(h, 'vm-work-private', SIZE).equals(image(1)), 'restored after "y"');
  });

  it('asks before deleting a VM from the archive on a terminal: "n" keeps it, "yes" deletes it', async (t) => {
    const h = modelReady(t, host);
    if (!h) return;
    const volumes = async () =>
      Object.keys(archiveJson((await runSkiffInProcess([`--dest=file:${dest}`, '--json', 'list'])).stdout).volumes);
    const no = await skiffQubes(['delete', 'notes'], { answers: 'n\n' });
    assert.equal(no.code, 0, no.stdout + no.stderr);
    assert.match(no.stdout, /^Warning: {2}Data cannot be recovered after deleting it from the archive\.\nContinue \[y\/N\]\? /m);
    assert.ok((await volumes()).includes('vm-notes-private'));
    const yes = await skiffQubes(['delete', 'notes'], { answers: 'yes\n' });
    assert.equal(yes.code, 0, yes.stdout + yes.stderr);
    assert.ok(!(await volumes()).includes('vm-notes-private'));
  });
});

describe('skiff-qubes restores device assignments on Qubes 4.2 (admin.vm.device.CLASS.Attach, on the Qubes model)', () => {
  const older = scratchDir('skiff-qubes-q42-');
  after(older.cleanup);

  it('detaches what the VM has now and attaches, persistently, what it had in the backup', async (t) => {
    if (!modelReady(t, host)) return;
    const h = await startQubesModel(older.dir, { privateSize: 1 << 20, withVolumes: ['work'], qubesVersion: '4.2' });
    const outer = { PATH: process.env['PATH'], SKIFF_LVM_MODEL_DIR: process.env['SKIFF_LVM_MODEL_DIR'] };
    process.env['PATH'] = h.env['PATH'];
    process.env['SKIFF_LVM_MODEL_DIR'] = h.lvm.dir;
    try {
      const archive = join(older.dir, 'archive');
      assert.equal((await runSkiffInProcess(['arch-init', `--dest=file:${archive}`, '--encrypt=off'])).code, 0);
      await h.admin.call('admin.vm.device.pci.Attach', 'work', 'dom0+00_1f.6', 'no-strict-reset=True persistent=True');
      const at = { dest: archive, host: h, cwd: older.dir };
      const saved = await runSkiffQubes(['backup', 'work'], at);
      assert.equal(saved.code, 0, saved.stdout + saved.stderr);
      await h.admin.call('admin.vm.device.pci.Detach', 'work', 'dom0+00_1f.6');
      await h.admin.call('admin.vm.device.block.Attach', 'work', 'dom0+sda', 'persistent=True');
      const r = await runSkiffQubes(['restore', 'work'], at);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(devicesOf(h, 'work'), {
        pci: [{ backend: 'dom0', port: '00_1f.6', mode: 'required', options: { 'no-strict-reset': 'True' } }],
      });
      assert.ok(h.model.calls.includes('admin.vm.device.block.Set.persistent work dom0+sda'), h.model.calls.join('\n'));
    } finally {
      Object.assign(process.env, outer);
      await h.close();
    }
  });
});
