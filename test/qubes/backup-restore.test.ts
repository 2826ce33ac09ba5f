// skiff-qubes backup and restore on the Qubes model (test/qubes-model: Qubes is modelled — the
// Admin API on a Unix socket, qubes.xml, volumes as thin LVs of the LVM thin-pool model; no Xen).
// The acceptance scenario: back up work and personal, delete both VMs, restore them:
// same class, prefs, tags, features and byte-identical volumes; restoring an older session of a
// running VM is refused and changes nothing. Also what the archive holds (wyng-util-qubes'
// layout): one session with vm-NAME-private and wyng-qubes-metadata, tag `qubes`, the metadata a
// tar.gz of ./qubes.xml; and backup_timestamp set on the VMs.
//
// skiff-qubes and skiff run in this process; the archive is unencrypted (no passphrase).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { readTarGz } from '../../source-agent/qubes/metadata-tar.js';
import { parseQubesXml } from '../../source-agent/qubes/qubes-xml.js';
import { scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import {
  modelReady,
  type QubesCliResult,
  type QubesHostModel,
  readLv as readModelLv,
  runSkiffQubes,
  startQubesModel,
} from '../qubes-model/harness.js';

const SIZE = 4 * 1024 * 1024;
const scratch = scratchDir('skiff-qubes-');
let host: QubesHostModel | null = null;
let dest = '';

function skiffQubes(...args: string[]): Promise<QubesCliResult> {
  return runSkiffQubes(args, { dest, host, cwd: scratch.dir });
}

function readLv(h: QubesHostModel, lv: string, length = SIZE): Buffer {
  return readModelLv(h, lv, length);
}

/** Data at a few places of a 4 MiB volume, zeros elsewhere. */
function pattern(seed: number): { offset: number; data: Buffer }[] {
  return [0, 700_000, 3_000_000].map((offset, i) => ({ offset, data: Buffer.alloc(100_000 + i * 1000, (seed * 31 + i * 7) % 250 || 1) }));
}

function image(seed: number): Buffer {
  const bytes = Buffer.alloc(SIZE);
  for (const { offset, data } of pattern(seed)) data.copy(bytes, offset);
  return bytes;
}

/** What restore must bring back: every property qubesd reports, tags, features, class. */
async function settings(h: QubesHostModel, vm: string) {
  const properties: Record<string, string> = {};
  for (const name of (await h.admin.call('admin.vm.property.List', vm)).split('\n').filter(Boolean)) {
    if (['qid', 'uuid', 'backup_timestamp'].includes(name)) continue;
    properties[name] = await h.admin.call('admin.vm.property.Get', vm, name);
  }
  const features: Record<string, string> = {};
  for (const name of (await h.admin.call('admin.vm.feature.List', vm)).split('\n').filter(Boolean)) {
    features[name] = await h.admin.call('admin.vm.feature.Get', vm, name);
  }
  const tags = (await h.admin.call('admin.vm.tag.List', vm)).split('\n').filter(Boolean).sort();
  const klass = (await h.admin.call('admin.vm.List', vm)).split(' ')[1];
  const firewall = await h.admin.call('admin.vm.firewall.Get', vm);
  return { klass, properties, features, tags, firewall };
}

function ready(t: TestContext): QubesHostModel | null {
  return modelReady(t, host);
}

let before_: Record<string, Awaited<ReturnType<typeof settings>>> = {};
let firstSession = '';

before(async () => {
  if (process.getuid?.() !== 0) return;
  host = await startQubesModel(scratch.dir, { privateSize: SIZE });
  // skiff (in this process) runs the LVM stand-ins from this process's PATH.
  process.env['PATH'] = host.env['PATH'];
  process.env['SKIFF_LVM_MODEL_DIR'] = host.lvm.dir;
  dest = join(scratch.dir, 'archive');
  const init = await runSkiffInProcess(['arch-init', `--dest=file:${dest}`, '--encrypt=off']);
  assert.equal(init.code, 0, init.stderr);
  host.lvm.writeMany(`${host.vg}/vm-work-private`, pattern(1));
  host.lvm.writeMany(`${host.vg}/vm-personal-private`, pattern(2));
  await host.admin.call('admin.vm.firewall.Set', 'work', '', 'action=accept dsthost=example.com proto=tcp dstports=443-443\naction=drop\n');
  before_ = { work: await settings(host, 'work'), personal: await settings(host, 'personal') };
});

after(async () => {
  try {
    await host?.close();
  } finally {
    scratch.cleanup();
  }
});

describe('skiff-qubes backup and restore (on the Qubes model)', () => {
  it('backup work personal: one session with their private volumes and wyng-qubes-metadata, tag qubes', async (t) => {
    const h = ready(t);
    if (!h) return;
    const r = await skiffQubes('backup', 'work', 'personal');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const listed = await runSkiffInProcess([`--dest=file:${dest}`, '--json', 'list']);
    const json = JSON.parse(listed.stdout.slice(listed.stdout.indexOf('{'))) as {
      volumes: Record<string, { sessions: Record<string, { tags: Record<string, string> }> }>;
    };
    assert.deepEqual(Object.keys(json.volumes).sort(), ['vm-personal-private', 'vm-work-private', 'wyng-qubes-metadata']);
    const sessions = new Set(Object.values(json.volumes).flatMap((v) => Object.keys(v.sessions)));
    assert.equal(sessions.size, 1, 'one session for all three volumes');
    firstSession = [...sessions][0]!.slice(2);
    for (const volume of Object.values(json.volumes)) assert.deepEqual(Object.values(volume.sessions)[0]!.tags, { qubes: '' });
    // The metadata volume: a tar.gz of every *.xml under /var/lib/qubes, names starting ./
    const tarPath = join(scratch.dir, 'meta.tgz');
    const got = await runSkiffInProcess([`--dest=file:${dest}`, `--save-to=${tarPath}`, 'receive', 'wyng-qubes-metadata']);
    assert.equal(got.code, 0, got.stderr);
    const files = readTarGz(readFileSync(tarPath));
    assert.deepEqual([...files.keys()].sort(), ['appvms/work/firewall.xml', 'qubes.xml']);
    const domains = parseQubesXml(files.get('qubes.xml')!.toString());
    assert.deepEqual(domains.get('work')?.tags, ['created-by-dom0', 'project-x']);
    // backup_timestamp is set after the send, so it is not in the archived qubes.xml.
    assert.equal(domains.get('work')?.properties['backup_timestamp'], undefined);
    const stamp = await h.admin.call('admin.vm.property.Get', 'work', 'backup_timestamp');
    assert.match(stamp, /^default=False type=int [0-9]{10}$/);
    assert.ok(Math.abs(Number(stamp.split(' ')[2]) - Date.now() / 1000) < 600);
  });

  it('restore work personal after both were deleted: recreated with the same prefs, tags, features, firewall and volumes', async (t) => {
    const h = ready(t);
    if (!h) return;
    await h.admin.call('admin.vm.Remove', 'work');
    await h.admin.call('admin.vm.Remove', 'personal');
    assert.ok(!h.model.domains.has('work'));
    const r = await skiffQubes('restore', 'work', 'personal');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const vm of ['work', 'personal']) {
      assert.deepEqual(await settings(h, vm), before_[vm], `${vm}'s settings`);
    }
    assert.ok(readLv(h, 'vm-work-private').equals(image(1)), 'vm-work-private byte-identical');
    assert.ok(readLv(h, 'vm-personal-private').equals(image(2)), 'vm-personal-private byte-identical');
  });

  it('refuses to restore an older session over a running VM, and changes nothing', async (t) => {
    const h = ready(t);
    if (!h) return;
    h.lvm.writeMany(`${h.vg}/vm-work-private`, pattern(3));
    await new Promise((resolve) => setTimeout(resolve, 1100)); // a new session name (one per second)
    const second = await skiffQubes('backup', 'work');
    assert.equal(second.code, 0, second.stdout + second.stderr);
    const changed = readLv(h, 'vm-work-private');
    await h.admin.call('admin.vm.Start', 'work');
    await h.admin.call('admin.vm.property.Set', 'work', 'memory', '1234');
    const r = await skiffQubes('restore', `--session=${firstSession}`, 'work');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^Refusing to restore over running VMs: work\. Shut them down first\.$/m);
    assert.ok(readLv(h, 'vm-work-private').equals(changed), "the running VM's volume is untouched");
    assert.equal(await h.admin.call('admin.vm.property.Get', 'work', 'memory'), 'default=False type=int 1234');
    await h.admin.call('admin.vm.Kill', 'work');
  });

  it('a VM whose volume cannot be sent gets no backup_timestamp and ends the run with exit 2; the others are backed up', async (t) => {
    const h = ready(t);
    if (!h) return;
    // vault's private volume has no LV in the model (not in withVolumes): skiff send reports it.
    const stampBefore = await h.admin.call('admin.vm.property.Get', 'work', 'backup_timestamp');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const r = await skiffQubes('backup', 'work', 'vault');
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /^Errors for VMs: vault$/m);
    assert.equal(await h.admin.call('admin.vm.property.Get', 'vault', 'backup_timestamp'), 'default=True type=int ');
    assert.notEqual(await h.admin.call('admin.vm.property.Get', 'work', 'backup_timestamp'), stampBefore);
  });

  it("verify checks the VMs' volumes of a session; prune removes a session of a VM; delete removes a VM from the archive", async (t) => {
    const h = ready(t);
    if (!h) return;
    const verified = await skiffQubes('verify', `--session=${firstSession}`, 'work', 'personal');
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, new RegExp(`^VMs matched in session ${firstSession}:\n personal, work$`, 'm'));
    assert.match(verified.stdout, /vm-work-private/);
    const sessionsOf = async (volume: string) => {
      const listed = await runSkiffInProcess([`--dest=file:${dest}`, '--json', 'list']);
      const json = JSON.parse(listed.stdout.slice(listed.stdout.indexOf('{'))) as { volumes: Record<string, { sessions: object }> };
      return json.volumes[volume] ? Object.keys(json.volumes[volume].sessions).length : 0;
    };
    const workSessions = await sessionsOf('vm-work-private');
    assert.ok(workSessions >= 2);
    const pruned = await skiffQubes('prune', `--session=${firstSession}`, 'work');
    assert.equal(pruned.code, 0, pruned.stdout + pruned.stderr);
    assert.equal(await sessionsOf('vm-work-private'), workSessions - 1);
    assert.equal(await sessionsOf('vm-personal-private'), 1, 'personal is not pruned');
    const refused = await skiffQubes('delete', 'work', 'personal');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^Please specify a single qube name to delete\.$/m);
    const deleted = await skiffQubes('delete', 'personal');
    assert.equal(deleted.code, 0, deleted.stdout + deleted.stderr);
    assert.equal(await sessionsOf('vm-personal-private'), 0);
    assert.equal(await sessionsOf('vm-work-private'), workSessions - 1);
  });
});
