// The Qubes model itself (Qubes is modelled: no Xen, no qubesd; see README.md): its Admin API
// answers in qubesd's wire format, it is seeded from qubes.xml, creates and removes VMs with thin
// LVs in the LVM thin-pool model, refuses what qubesd refuses, and rewrites qubes.xml.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { QubesAdminError } from '../../source-agent/errors.js';
import { parseQubesXml } from '../../source-agent/qubes/qubes-xml.js';
import { scratchDir } from '../helpers/cli.js';
import { requireSystem } from '../helpers/system.js';
import { QUBES_MODEL_TOOLS, type QubesHostModel, startQubesModel } from './harness.js';

const scratch = scratchDir('skiff-qubes-model-');
let host: QubesHostModel | null = null;

function ready(t: TestContext): QubesHostModel | null {
  if (!requireSystem(t, QUBES_MODEL_TOOLS)) return null;
  assert.ok(host, 'the model started');
  return host;
}

before(async () => {
  if (process.getuid?.() !== 0) return;
  host = await startQubesModel(scratch.dir);
});

after(async () => {
  try {
    await host?.close();
  } finally {
    scratch.cleanup();
  }
});

/** The raw bytes qubesd answers to a raw request. */
function rawCall(socketPath: string, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(socketPath, () => socket.end(request));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
}

describe('Qubes model (Admin API over a Unix socket; Qubes is modelled)', () => {
  it('answers in the wire format of qubesd: 0\\0 and the result, 2\\0 and the exception', async (t) => {
    const h = ready(t);
    if (!h) return;
    const socket = h.env['SKIFF_QUBESD_SOCKET']!;
    const ok = await rawCall(socket, Buffer.from('admin.vm.property.Get+label dom0 name work\0'));
    assert.equal(ok.toString(), '0\0default=False type=label blue');
    const refused = await rawCall(socket, Buffer.from('admin.vm.property.Get+label dom0 name nosuchvm\0'));
    assert.equal(refused.toString(), "2\0QubesVMNotFoundError\0\0No such domain: 'nosuchvm'\0");
  });

  it('lists the seeded domains with class and state', async (t) => {
    const h = ready(t);
    if (!h) return;
    const list = await h.admin.call('admin.vm.List');
    assert.match(list, /^dom0 class=AdminVM state=Running$/m);
    assert.match(list, /^fedora-41-xfce class=TemplateVM state=Halted$/m);
    assert.match(list, /^legacy class=StandaloneVM state=Halted$/m);
    assert.match(list, /^disp-print class=DispVM state=Halted$/m);
    assert.match(list, /^sys-firewall class=AppVM state=Halted$/m);
  });

  it('reports defaults, refuses bad values and a netvm that provides no network', async (t) => {
    const h = ready(t);
    if (!h) return;
    assert.equal(await h.admin.call('admin.vm.property.Get', 'personal', 'memory'), 'default=True type=int 400');
    assert.equal(await h.admin.call('admin.vm.property.Get', 'personal', 'netvm'), 'default=False type=vm sys-firewall');
    assert.equal(await h.admin.call('admin.vm.property.Get', 'sys-net', 'netvm'), 'default=False type=vm ');
    await assert.rejects(
      h.admin.call('admin.vm.property.Set', 'personal', 'netvm', 'vault'),
      (e: QubesAdminError) => e.qubesException === 'QubesValueError',
    );
    await assert.rejects(h.admin.call('admin.vm.property.Set', 'personal', 'memory', 'lots'), /not an integer/);
    await h.admin.call('admin.vm.property.Set', 'personal', 'vcpus', '4');
    await h.admin.call('admin.vm.property.Reset', 'personal', 'vcpus');
    assert.equal(await h.admin.call('admin.vm.property.Get', 'personal', 'vcpus'), 'default=True type=int 2');
  });

  it('gives volumes of lvm_thin pools as thin LVs of the LVM model', async (t) => {
    const h = ready(t);
    if (!h) return;
    const info = await h.admin.call('admin.vm.volume.Info', 'work', 'private');
    assert.match(info, new RegExp(`^vid=${h.vg}/vm-work-private$`, 'm'));
    assert.match(info, /^pool=vm-pool$/m);
    assert.ok(existsSync(h.lvPath('vm-work-private')));
    assert.equal(
      await h.admin.call('admin.pool.Info', 'vm-pool', 'vm-pool'),
      `driver=lvm_thin\nrevisions_to_keep=1\nthin_pool=vm-pool\nvolume_group=${h.vg}\n`,
    );
  });

  it('creates an AppVM without a template argument on the default template, as qubesd does (wyng-util-qubes restore)', async (t) => {
    const h = ready(t);
    if (!h) return;
    await h.admin.call('admin.vm.Create.AppVM', 'dom0', '', 'name=notemplate label=red');
    assert.equal(await h.admin.call('admin.vm.property.Get', 'notemplate', 'template'), 'default=False type=vm fedora-41-xfce');
    assert.equal(
      await h.admin.call('admin.vm.volume.Info', 'notemplate', 'root').then((i) => /source=(.*)/.exec(i)?.[1]),
      `${h.vg}/vm-fedora-41-xfce-root`,
    );
    await h.admin.call('admin.vm.Remove', 'notemplate');
  });

  it('creates a VM in a pool with its LVs, refuses to remove a VM in use or running, and rewrites qubes.xml', async (t) => {
    const h = ready(t);
    if (!h) return;
    await h.admin.call('admin.vm.CreateInPool.AppVM', 'dom0', 'debian-12-xfce', 'name=scratch label=green pool=vm-pool');
    assert.ok(existsSync(h.lvPath('vm-scratch-private')));
    await h.admin.call('admin.vm.tag.Set', 'scratch', 'temp');
    const xml = parseQubesXml(readFileSync(join(h.env['SKIFF_QUBES_DIR']!, 'qubes.xml'), 'utf8'));
    assert.deepEqual(xml.get('scratch')?.tags, ['created-by-dom0', 'temp']);
    assert.equal(xml.get('scratch')?.properties['template'], 'debian-12-xfce');
    await assert.rejects(
      h.admin.call('admin.vm.Remove', 'debian-12-xfce'),
      (e: QubesAdminError) => e.qubesException === 'QubesVMInUseError',
    );
    await h.admin.call('admin.vm.Start', 'scratch');
    await assert.rejects(h.admin.call('admin.vm.Remove', 'scratch'), (e: QubesAdminError) => e.qubesException === 'QubesVMNotHaltedError');
    await h.admin.call('admin.vm.Kill', 'scratch');
    await h.admin.call('admin.vm.Remove', 'scratch');
    assert.ok(!existsSync(h.lvPath('vm-scratch-private')));
    assert.ok(!parseQubesXml(readFileSync(join(h.env['SKIFF_QUBES_DIR']!, 'qubes.xml'), 'utf8')).has('scratch'));
  });
});
