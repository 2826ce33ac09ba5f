// A modelled Qubes dom0 for skiff-qubes' tests: qubesd's Admin API on a Unix socket (the wire
// format of qubes/api/__init__.py: `METHOD+ARG SOURCE name DEST\0PAYLOAD`, answered `0\0RESULT`
// or `2\0EXCEPTION\0\0MESSAGE\0`), domains seeded from a qubes.xml, and their volumes as thin LVs
// of the LVM thin-pool model (test/lvm-model). No Xen and no real qubesd: "Running" is a flag,
// and only the calls skiff-qubes makes are served. After each change the model rewrites
// <varDir>/qubes.xml, as qubesd does.

import { mkdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { parseQubesXml } from '../../source-agent/qubes/qubes-xml.js';
import { child, childrenNamed, parseXml } from '../../source-agent/qubes/xml.js';
import type { LvmModel } from '../lvm-model/harness.js';
import { LABELS, PROPERTIES } from './properties.js';
import type { ModelDevice, ModelDomain, ModelPool, ModelVolume } from './state.js';
import { writeFirewallXml, writeQubesXml } from './xml-writer.js';

/** A qubesd exception: its class name travels to the client with the message. */
class QubesException extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
  }
}

export interface QubesModelOptions {
  /** The seed qubes.xml (with @VG@ etc. already replaced). */
  seedXml: string;
  lvm: LvmModel;
  /** Where qubes.xml is written (the model's /var/lib/qubes). */
  varDir: string;
  socketPath: string;
  /** VMs whose volumes get real thin LVs; the others' volumes are configuration only. */
  withVolumes: readonly string[];
  /** The Qubes release whose device API is served: 4.3 (Assign/Unassign/Assigned) or 4.2 (Attach/Detach/List, Set.persistent). */
  qubesVersion?: '4.2' | '4.3';
}

/** The device classes qubesd serves (admin.deviceclass.List). */
export const DEVICE_CLASSES = ['block', 'mic', 'pci', 'usb'];

/** `key='value'` pairs of a 4.3 device-assignment payload (values quoted, `\'` inside). */
function unpackAssignment(payload: string): Record<string, string> {
  const fields: Record<string, string> = {};
  const pair = /([A-Za-z0-9_.-]+)='((?:[^'\\]|\\')*)'(?: |$)/y;
  let at = 0;
  const text = payload.trim();
  while (at < text.length) {
    pair.lastIndex = at;
    const match = pair.exec(text);
    if (!match) throw new QubesException('ProtocolError', `bad device assignment: ${text.slice(at, at + 40)}`);
    fields[match[1]!] = match[2]!.replaceAll("\\'", "'");
    at = pair.lastIndex;
  }
  return fields;
}

function packAssignment(device: ModelDevice, devclass: string, frontend: string): string {
  const quoted = (value: string) => `'${value.replaceAll("'", "\\'")}'`;
  const fields = [
    ['device_id', '*'],
    ['port_id', device.port],
    ['devclass', devclass],
    ['backend_domain', device.backend],
    ['mode', device.mode],
    ['frontend_domain', frontend],
    ...Object.entries(device.options).map(([name, value]) => [`_${name}`, value]),
  ];
  return fields.map(([key, value]) => `${key}=${quoted(value!)}`).join(' ');
}

export class QubesModel {
  readonly pools: ModelPool[] = [];
  readonly globals: Record<string, string> = {};
  readonly domains = new Map<string, ModelDomain>();
  /** Every call served, `method dest arg`, for tests that check what was asked. */
  readonly calls: string[] = [];
  private server: Server | null = null;

  constructor(readonly options: QubesModelOptions) {
    const root = parseXml(options.seedXml);
    for (const pool of childrenNamed(child(root, 'pools'), 'pool')) {
      const { name = '', driver = '', ...config } = pool.attributes;
      this.pools.push({ name, driver, config });
    }
    for (const property of childrenNamed(child(root, 'properties'), 'property')) {
      this.globals[property.attributes['name'] ?? ''] = property.text;
    }
    let qid = 0;
    for (const seeded of parseQubesXml(options.seedXml).values()) {
      const domain: ModelDomain = {
        qid: Number(seeded.properties['qid'] ?? qid),
        name: seeded.name,
        klass: seeded.klass,
        properties: { ...seeded.properties },
        features: { ...seeded.features },
        tags: [...seeded.tags],
        volumes: {},
        firewall: null,
        power: seeded.klass === 'AdminVM' ? 'Running' : 'Halted',
        devices: Object.fromEntries(
          Object.entries(seeded.devices).map(([klass, list]) => [klass, list.map((d) => ({ ...d, options: { ...d.options } }))]),
        ),
        notes: '',
      };
      qid = Math.max(qid, domain.qid) + 1;
      for (const volume of Object.values(seeded.volumes)) domain.volumes[volume.name] = this.volumeFromSeed(seeded.name, volume);
      this.domains.set(domain.name, domain);
      if (options.withVolumes.includes(domain.name)) for (const volume of Object.values(domain.volumes)) this.makeLv(volume);
    }
    mkdirSync(options.varDir, { recursive: true });
    this.save();
  }

  private volumeFromSeed(_vm: string, seeded: { name: string; pool: string; vid: string; size: number }): ModelVolume {
    const text = this.options.seedXml;
    // save_on_stop / snap_on_start / source / rw are read from the seed's <volume> attributes.
    const match = new RegExp(
      `<volume [^>]*name="${seeded.name}"[^>]*vid="${seeded.vid.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"[^>]*/>`,
    ).exec(text);
    const attribute = (name: string) => (match ? new RegExp(`${name}="([^"]*)"`).exec(match[0])?.[1] : undefined);
    return {
      name: seeded.name,
      pool: seeded.pool,
      vid: seeded.vid,
      size: seeded.size,
      rw: attribute('rw') !== 'False',
      saveOnStop: attribute('save_on_stop') === 'True',
      snapOnStart: attribute('snap_on_start') === 'True',
      source: attribute('source') ?? '',
    };
  }

  /** A volume with a vid of its own in an lvm_thin pool gets a thin LV of its size. */
  private makeLv(volume: ModelVolume): void {
    const pool = this.pools.find((p) => p.name === volume.pool);
    if (!volume.vid) return;
    if (pool?.driver === 'file-reflink') {
      // A reflink pool's volume is the sparse file DIR/VID.img (Qubes' file-reflink driver).
      const file = join(pool.config['dir_path'] ?? '', `${volume.vid}.img`);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, '');
      truncateSync(file, volume.size);
      return;
    }
    if (pool?.driver !== 'lvm_thin') return;
    const [vg, lv] = volume.vid.split('/');
    this.options.lvm.run('lvm', ['lvcreate', '-V', `${volume.size}b`, '--thin', '-n', lv!, `${vg}/${pool.config['thin_pool']}`]);
  }

  private removeLv(volume: ModelVolume): void {
    const pool = this.pools.find((p) => p.name === volume.pool);
    if (!volume.vid) return;
    if (pool?.driver === 'file-reflink') {
      rmSync(join(pool.config['dir_path'] ?? '', `${volume.vid}.img`), { force: true });
      return;
    }
    if (pool?.driver !== 'lvm_thin') return;
    const [vg, lv] = volume.vid.split('/');
    const exists = this.options.lvm.state().vgs[vg!]?.lvs[lv!];
    if (exists) this.options.lvm.run('lvm', ['lvremove', '-f', `${vg}/${lv}`]);
  }

  /** Points a file-reflink pool at a directory (test side: a Btrfs subvolume, as /var/lib/qubes on Btrfs). */
  setPoolDirectory(name: string, dir: string): void {
    const pool = this.pools.find((p) => p.name === name && p.driver === 'file-reflink');
    if (!pool) throw new Error(`no file-reflink pool ${name}`);
    pool.config['dir_path'] = dir;
    this.save();
  }

  /** Volume groups made by addLvmPool(…, ownVg), for the harness to remove. */
  readonly extraVgs: string[] = [];

  /**
   * A second lvm_thin pool (test side, as `qvm-pool add` would): its thin pool in the model's VG,
   * or with `ownVg` in a volume group of its own (a second disk; also where the LVM model keeps
   * two pools' thin volumes apart: it names their files by thin id per VG). Returns the VG.
   */
  addLvmPool(name: string, thinPool: string, size = '256m', ownVg = false): string {
    const mainVg = this.pools.find((p) => p.driver === 'lvm_thin')?.config['volume_group'] ?? '';
    const vg = ownVg ? `${mainVg}p${this.pools.length}` : mainVg;
    if (ownVg) {
      this.options.lvm.run('lvm', ['vgcreate', vg, '/dev/model-pv']);
      this.extraVgs.push(vg);
    }
    this.options.lvm.run('lvm', ['lvcreate', '--type', 'thin-pool', '-L', size, '-n', thinPool, vg]);
    this.pools.push({ name, driver: 'lvm_thin', config: { revisions_to_keep: '1', thin_pool: thinPool, volume_group: vg } });
    this.save();
    return vg;
  }

  save(): void {
    writeFileSync(join(this.options.varDir, 'qubes.xml'), writeQubesXml(this.pools, this.globals, [...this.domains.values()]));
    // As qubesd: each VM's firewall in <class dir>/NAME/firewall.xml once it has been set.
    for (const domain of this.domains.values()) {
      const dir = join(this.options.varDir, domain.klass === 'TemplateVM' ? 'vm-templates' : 'appvms', domain.name);
      if (domain.notes !== '') {
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'notes.txt'), domain.notes);
      } else rmSync(join(dir, 'notes.txt'), { force: true });
      if (domain.firewall === null) continue;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'firewall.xml'), writeFirewallXml(domain.firewall));
    }
  }

  listen(): Promise<void> {
    rmSync(this.options.socketPath, { force: true });
    this.server = createServer((socket) => this.serve(socket));
    return new Promise((resolve) => this.server!.listen(this.options.socketPath, resolve));
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private serve(socket: Socket): void {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => {
      const request = Buffer.concat(chunks);
      const nul = request.indexOf(0);
      const [methodArg = '', , destType, dest = ''] = request.subarray(0, nul).toString('ascii').split(' ');
      const plus = methodArg.indexOf('+');
      const method = plus === -1 ? methodArg : methodArg.slice(0, plus);
      const arg = plus === -1 ? '' : methodArg.slice(plus + 1);
      const payload = request.subarray(nul + 1).toString('utf8');
      this.calls.push(`${method} ${dest} ${arg}`.trimEnd());
      try {
        if (nul === -1 || destType !== 'name') throw new QubesException('ProtocolError', 'framing error');
        const result = this.handle(method, dest, arg, payload);
        socket.end(Buffer.concat([Buffer.from('0\0'), Buffer.from(result)]));
      } catch (error) {
        const e = error instanceof QubesException ? error : new QubesException('QubesException', (error as Error).message);
        socket.end(Buffer.from(`2\0${e.kind}\0\0${e.message}\0`));
      }
    });
  }

  private vm(name: string): ModelDomain {
    const domain = this.domains.get(name);
    if (!domain) throw new QubesException('QubesVMNotFoundError', `No such domain: '${name}'`);
    return domain;
  }

  /** A property's value and whether it is the default (vm-typed defaults follow the globals). */
  propertyValue(domain: ModelDomain, name: string): { isDefault: boolean; value: string } {
    const definition = PROPERTIES[name];
    if (!definition) throw new QubesException('QubesNoSuchPropertyError', `Invalid property '${name}' of ${domain.name}`);
    if (name in domain.properties) return { isDefault: false, value: domain.properties[name]! };
    const fallback = definition.fallback.startsWith('@') ? (this.globals[definition.fallback.slice(1)] ?? '') : definition.fallback;
    // A VM that provides network has no netvm by default (as sys-net).
    if (name === 'netvm' && domain.properties['provides_network'] === 'True') return { isDefault: true, value: '' };
    // Qubes backs up by default what the user made, not what a package installed.
    if (name === 'include_in_backups')
      return { isDefault: true, value: domain.properties['installed_by_rpm'] === 'True' ? 'False' : 'True' };
    return { isDefault: true, value: fallback };
  }

  private checkValue(domain: ModelDomain, name: string, value: string): void {
    const definition = PROPERTIES[name];
    if (!definition || definition.readOnly)
      throw new QubesException('QubesNoSuchPropertyError', `Invalid property '${name}' of ${domain.name}`);
    const bad = (why: string) => new QubesException('QubesValueError', `${domain.name}.${name}: ${why}`);
    if (definition.type === 'int' && !/^-?[0-9]+$/.test(value)) throw bad(`not an integer: '${value}'`);
    if (definition.type === 'bool' && !['True', 'False'].includes(value)) throw bad(`not a boolean: '${value}'`);
    if (definition.type === 'label' && !LABELS.includes(value)) throw bad(`no such label: '${value}'`);
    if (definition.type === 'vm' && value !== '') {
      const target = this.domains.get(value);
      if (!target) throw new QubesException('QubesVMNotFoundError', `No such domain: '${value}'`);
      if (name === 'netvm' && target.properties['provides_network'] !== 'True') throw bad(`${value} does not provide network`);
      if (name === 'template' && !['TemplateVM', 'AppVM'].includes(target.klass)) throw bad(`${value} cannot be a template`);
    }
    if (name === 'template' && domain.power !== 'Halted')
      throw new QubesException('QubesVMNotHaltedError', `Domain is not powered off: ${domain.name}`);
  }

  private create(klass: string, templateArg: string, payload: string): void {
    const fields = Object.fromEntries(payload.split(' ').map((word) => word.split('=', 2) as [string, string]));
    const name = fields['name'] ?? '';
    if (this.domains.has(name)) throw new QubesException('QubesValueError', `VM ${name} already exists`);
    if (!/^[A-Za-z][A-Za-z0-9_.-]{0,30}$/.test(name)) throw new QubesException('QubesValueError', `VM name is invalid: ${name}`);
    if (!LABELS.includes(fields['label'] ?? ''))
      throw new QubesException('QubesLabelNotFoundError', `Label does not exist: ${fields['label']}`);
    const needsTemplate = klass === 'AppVM' || klass === 'DispVM';
    if (!needsTemplate && templateArg !== '') throw new QubesException('QubesValueError', `${klass} takes no template`);
    // As qubesd's add_new_vm: without a template argument, the default one (set explicitly).
    const template =
      needsTemplate && templateArg === '' ? (this.globals[klass === 'DispVM' ? 'default_dispvm' : 'default_template'] ?? '') : templateArg;
    if (needsTemplate && template === '') throw new QubesException('QubesValueError', `${klass} needs template`);
    const base = template ? this.vm(template) : null;
    const poolName = fields['pool'] ?? this.globals['default_pool'] ?? '';
    const pool = this.pools.find((p) => p.name === poolName);
    if (!pool) throw new QubesException('QubesValueError', `No such pool: ${poolName}`);
    const vg = pool.config['volume_group'] ?? '';
    const ownVid = (volumeName: string) =>
      pool.driver === 'file-reflink'
        ? `${klass === 'TemplateVM' ? 'vm-templates' : 'appvms'}/${name}/${volumeName}`
        : `${vg}/vm-${name}-${volumeName}`;
    const qid = Math.max(...[...this.domains.values()].map((d) => d.qid)) + 1;
    const volume = (volumeName: string, size: number, own: boolean, source = ''): ModelVolume => ({
      name: volumeName,
      pool: poolName,
      vid: own ? ownVid(volumeName) : '',
      size,
      rw: own || volumeName !== 'root',
      saveOnStop: own,
      snapOnStart: !own,
      source,
    });
    const privateSize = base?.volumes['private']?.size ?? 2 * 1024 * 1024;
    const rootSize = base?.volumes['root']?.size ?? 4 * 1024 * 1024;
    const domain: ModelDomain = {
      qid,
      name,
      klass,
      properties: { qid: String(qid), name, label: fields['label']!, ...(template ? { template } : {}) },
      features: {},
      tags: ['created-by-dom0'],
      volumes: {
        private: volume('private', privateSize, true),
        root: base ? volume('root', rootSize, false, base.volumes['root']?.vid ?? '') : volume('root', rootSize, true),
      },
      firewall: null,
      power: 'Halted',
      devices: {},
      notes: '',
    };
    this.domains.set(name, domain);
    for (const v of Object.values(domain.volumes)) if (v.vid) this.makeLv(v);
  }

  private remove(domain: ModelDomain): void {
    if (domain.power !== 'Halted') throw new QubesException('QubesVMNotHaltedError', `Domain is not powered off: ${domain.name}`);
    for (const other of this.domains.values()) {
      for (const reference of ['template', 'netvm', 'default_dispvm']) {
        if (other !== domain && other.properties[reference] === domain.name) {
          throw new QubesException('QubesVMInUseError', `VM in use: ${domain.name} (${other.name}.${reference})`);
        }
      }
    }
    for (const volume of Object.values(domain.volumes)) this.removeLv(volume);
    this.domains.delete(domain.name);
  }

  private handle(method: string, dest: string, arg: string, payload: string): string {
    const changes = [
      '.Set',
      'firewall.Set',
      '.Remove',
      '.Reset',
      'admin.vm.Create',
      'admin.vm.Start',
      'admin.vm.Kill',
      'admin.vm.Shutdown',
      '.Assign',
      '.Unassign',
      '.Attach',
      '.Detach',
    ];
    const result = this.dispatch(method, dest, arg, payload);
    if (changes.some((c) => method.includes(c))) this.save();
    return result;
  }

  /**
   * The device API of the release modelled. 4.3: `Assigned` lists `BACKEND+PORT:DEVID PAYLOAD`,
   * `Assign` (arg `BACKEND+PORT:DEVID`, payload `key='value' …`), `Unassign`. 4.2: `List` lists
   * `BACKEND+PORT opt=value … persistent=yes`, `Attach` (arg `BACKEND+PORT`, payload
   * `opt=value … persistent=True`), `Set.persistent` (payload True/False), `Detach`.
   */
  private device(domain: ModelDomain, klass: string, call: string, arg: string, payload: string): string {
    if (!DEVICE_CLASSES.includes(klass)) throw new QubesException('PermissionDenied', `no device class ${klass}`);
    const list = domain.devices[klass] ?? [];
    domain.devices[klass] = list;
    const legacy = this.options.qubesVersion === '4.2';
    const plus = arg.indexOf('+');
    const backend = arg.slice(0, plus);
    const port = legacy ? arg.slice(plus + 1) : arg.slice(plus + 1).replace(/:[^:]*$/, '');
    const find = () => list.findIndex((d) => d.backend === backend && d.port === port);
    if (legacy !== ['List', 'Attach', 'Detach', 'Set.persistent'].includes(call))
      throw new QubesException(
        'PermissionDenied',
        `the model of Qubes ${this.options.qubesVersion ?? '4.3'} does not serve admin.vm.device.${klass}.${call}`,
      );
    switch (call) {
      case 'Assigned':
        return list.map((d) => `${d.backend}+${d.port}:* ${packAssignment(d, klass, domain.name)}\n`).join('');
      case 'List':
        return list
          .map((d) => `${d.backend}+${d.port} ${[...Object.entries(d.options).map(([k, v]) => `${k}=${v}`), 'persistent=yes'].join(' ')}\n`)
          .join('');
      case 'Assign': {
        if (plus <= 0 || !this.domains.has(backend)) throw new QubesException('QubesVMNotFoundError', `No such domain: '${backend}'`);
        const fields = unpackAssignment(payload);
        if (fields['port_id'] !== port || fields['backend_domain'] !== backend || fields['devclass'] !== klass)
          throw new QubesException('ProtocolError', 'assignment does not match the device');
        if (!['required', 'auto-attach', 'ask-to-attach'].includes(fields['mode'] ?? ''))
          throw new QubesException('QubesValueError', `bad mode ${fields['mode']}`);
        if (find() !== -1)
          throw new QubesException('DeviceAlreadyAssigned', `device ${arg} of class ${klass} already assigned to ${domain.name}`);
        const options = Object.fromEntries(Object.entries(fields).flatMap(([k, v]) => (k.startsWith('_') ? [[k.slice(1), v]] : [])));
        list.push({ backend, port, mode: fields['mode']!, options });
        return '';
      }
      case 'Attach': {
        if (plus <= 0 || !this.domains.has(backend)) throw new QubesException('QubesVMNotFoundError', `No such domain: '${backend}'`);
        const options: Record<string, string> = {};
        for (const word of payload.split(' ').filter(Boolean)) {
          const eq = word.indexOf('=');
          options[word.slice(0, eq)] = word.slice(eq + 1);
        }
        if (options['persistent'] !== 'True') throw new QubesException('QubesValueError', 'the model keeps only persistent attachments');
        delete options['persistent'];
        if (find() !== -1) throw new QubesException('DeviceAlreadyAttached', `device ${arg} already attached to ${domain.name}`);
        list.push({ backend, port, mode: 'required', options });
        return '';
      }
      case 'Set.persistent':
        if (find() === -1) throw new QubesException('DeviceNotAttached', `device ${arg} not attached`);
        return '';
      case 'Unassign':
      case 'Detach': {
        const at = find();
        if (at === -1) throw new QubesException('DeviceNotAssigned', `device ${arg} of class ${klass} not assigned to ${domain.name}`);
        list.splice(at, 1);
        return '';
      }
      default:
        throw new QubesException('PermissionDenied', `the model does not serve admin.vm.device.${klass}.${call}`);
    }
  }

  private dispatch(method: string, dest: string, arg: string, payload: string): string {
    if (method === 'admin.vm.List') {
      const domains = dest === 'dom0' ? [...this.domains.values()] : [this.vm(dest)];
      return domains.map((d) => `${d.name} class=${d.klass} state=${d.power}\n`).join('');
    }
    if (method === 'admin.pool.List') return this.pools.map((p) => `${p.name}\n`).join('');
    if (method === 'admin.pool.Info') {
      const pool = this.pools.find((p) => p.name === arg);
      if (!pool) throw new QubesException('QubesException', `No such pool: ${arg}`);
      return Object.entries({ driver: pool.driver, ...pool.config })
        .map(([k, v]) => `${k}=${v}\n`)
        .join('');
    }
    const createMatch = /^admin\.vm\.(Create|CreateInPool)\.(AppVM|TemplateVM|StandaloneVM|DispVM)$/.exec(method);
    if (createMatch) {
      if (dest !== 'dom0') throw new QubesException('ProtocolError', 'expected destination to be AdminVM');
      this.create(createMatch[2]!, arg, payload);
      return '';
    }
    if (method === 'admin.deviceclass.List') return DEVICE_CLASSES.map((c) => `${c}\n`).join('');
    const domain = this.vm(dest);
    const deviceMatch = /^admin\.vm\.device\.([a-z]+)\.(.+)$/.exec(method);
    if (deviceMatch) return this.device(domain, deviceMatch[1]!, deviceMatch[2]!, arg, payload);
    switch (method) {
      case 'admin.vm.Remove':
        this.remove(domain);
        return '';
      case 'admin.vm.Start':
        domain.power = 'Running';
        return '';
      case 'admin.vm.Kill':
      case 'admin.vm.Shutdown':
        domain.power = 'Halted';
        return '';
      case 'admin.vm.CurrentState':
        return `mem=0 mem_static_max=0 cputime=0 power_state=${domain.power}`;
      case 'admin.vm.property.List':
        return Object.keys(PROPERTIES)
          .map((p) => `${p}\n`)
          .join('');
      case 'admin.vm.property.Get': {
        const { isDefault, value } = this.propertyValue(domain, arg);
        return `default=${isDefault ? 'True' : 'False'} type=${PROPERTIES[arg]!.type} ${value}`;
      }
      case 'admin.vm.property.Set':
        this.checkValue(domain, arg, payload);
        domain.properties[arg] = payload;
        return '';
      case 'admin.vm.property.Reset':
        if (!PROPERTIES[arg] || PROPERTIES[arg].readOnly)
          throw new QubesException('QubesNoSuchPropertyError', `Invalid property '${arg}' of ${domain.name}`);
        delete domain.properties[arg];
        return '';
      case 'admin.vm.tag.List':
        return domain.tags.map((t) => `${t}\n`).join('');
      case 'admin.vm.tag.Set':
        if (!domain.tags.includes(arg)) domain.tags.push(arg);
        return '';
      case 'admin.vm.tag.Remove':
        if (!domain.tags.includes(arg)) throw new QubesException('QubesTagNotFoundError', `Tag not set for domain ${domain.name}: ${arg}`);
        domain.tags = domain.tags.filter((t) => t !== arg);
        return '';
      case 'admin.vm.feature.List':
        return Object.keys(domain.features)
          .map((f) => `${f}\n`)
          .join('');
      case 'admin.vm.feature.Get':
        if (!(arg in domain.features))
          throw new QubesException('QubesFeatureNotFoundError', `Feature not set for domain ${domain.name}: ${arg}`);
        return domain.features[arg]!;
      case 'admin.vm.feature.Set':
        domain.features[arg] = payload;
        return '';
      case 'admin.vm.feature.Remove':
        if (!(arg in domain.features))
          throw new QubesException('QubesFeatureNotFoundError', `Feature not set for domain ${domain.name}: ${arg}`);
        delete domain.features[arg];
        return '';
      case 'admin.vm.firewall.Get':
        return (domain.firewall ?? ['action=accept']).map((rule) => `${rule}\n`).join('');
      case 'admin.vm.firewall.Set': {
        const rules = payload.split('\n').filter((line) => line !== '');
        for (const rule of rules) {
          if (!/^action=(accept|drop)( [a-z_]+=\S+)*$/.test(rule))
            throw new QubesException('QubesValueError', `invalid firewall rule: ${rule}`);
        }
        domain.firewall = rules;
        return '';
      }
      case 'admin.vm.firewall.Reload':
        return '';
      case 'admin.vm.notes.Get':
        return domain.notes;
      case 'admin.vm.notes.Set':
        domain.notes = payload;
        return '';
      case 'admin.vm.volume.List':
        return Object.keys(domain.volumes)
          .map((v) => `${v}\n`)
          .join('');
      case 'admin.vm.volume.Info': {
        const volume = domain.volumes[arg];
        if (!volume) throw new QubesException('PermissionDenied', '');
        return [
          `pool=${volume.pool}`,
          `vid=${volume.vid}`,
          `size=${volume.size}`,
          `usage=0`,
          `rw=${volume.rw ? 'True' : 'False'}`,
          `source=${volume.source}`,
          `save_on_stop=${volume.saveOnStop ? 'True' : 'False'}`,
          `snap_on_start=${volume.snapOnStart ? 'True' : 'False'}`,
          `revisions_to_keep=1`,
          `ephemeral=False`,
          '',
        ].join('\n');
      }
      default:
        throw new QubesException('PermissionDenied', `the model does not serve ${method}`);
    }
  }
}
