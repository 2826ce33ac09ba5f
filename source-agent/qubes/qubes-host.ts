// What skiff-qubes asks of Qubes, in the domain's words, over the Admin API (admin-client.ts):
// domains and their power state, pools, volumes, properties, tags, features, notes, firewall,
// device assignments, creating, starting and shutting down VMs.

import { QubesAdminError } from '../errors.js';
import { AdminClient } from './admin-client.js';

export interface LiveDomain {
  name: string;
  klass: string;
  state: string;
}

export interface LivePool {
  name: string;
  driver: string;
  /** `VG/POOL` for lvm_thin, the directory for file-reflink: what skiff's --local takes. */
  path: string;
}

export interface LiveVolume {
  pool: string;
  vid: string;
  size: number;
}

export interface PropertyValue {
  isDefault: boolean;
  type: string;
  value: string;
}

export class QubesHost {
  constructor(readonly admin: AdminClient) {}

  async domains(): Promise<Map<string, LiveDomain>> {
    const domains = new Map<string, LiveDomain>();
    for (const line of AdminClient.lines(await this.admin.call('admin.vm.List'))) {
      const [name = '', ...fields] = line.split(' ');
      const values = AdminClient.keyValues(fields.join('\n'));
      domains.set(name, { name, klass: values['class'] ?? '', state: values['state'] ?? '' });
    }
    return domains;
  }

  /** The pools skiff can back up from: lvm_thin and file-reflink (as wyng-util-qubes). */
  async pools(): Promise<Map<string, LivePool>> {
    const pools = new Map<string, LivePool>();
    for (const name of AdminClient.lines(await this.admin.call('admin.pool.List'))) {
      const info = AdminClient.keyValues(await this.admin.call('admin.pool.Info', 'dom0', name));
      const driver = info['driver'] ?? '';
      if (driver === 'lvm_thin') pools.set(name, { name, driver, path: `${info['volume_group']}/${info['thin_pool']}` });
      else if (driver === 'file-reflink') pools.set(name, { name, driver, path: info['dir_path'] ?? '' });
    }
    return pools;
  }

  async volume(vm: string, volume: string): Promise<LiveVolume> {
    const info = AdminClient.keyValues(await this.admin.call('admin.vm.volume.Info', vm, volume));
    return { pool: info['pool'] ?? '', vid: info['vid'] ?? '', size: Number(info['size'] ?? 0) };
  }

  async property(vm: string, name: string): Promise<PropertyValue> {
    const text = await this.admin.call('admin.vm.property.Get', vm, name);
    const match = /^default=(True|False) type=(\S+) ?([\s\S]*)$/.exec(text);
    if (!match) throw new QubesAdminError(`admin.vm.property.Get ${vm} ${name}: unexpected answer`);
    return { isDefault: match[1] === 'True', type: match[2]!, value: match[3]! };
  }

  async propertyNames(vm: string): Promise<string[]> {
    return AdminClient.lines(await this.admin.call('admin.vm.property.List', vm));
  }

  setProperty(vm: string, name: string, value: string): Promise<string> {
    return this.admin.call('admin.vm.property.Set', vm, name, value);
  }

  resetProperty(vm: string, name: string): Promise<string> {
    return this.admin.call('admin.vm.property.Reset', vm, name);
  }

  async tags(vm: string): Promise<string[]> {
    return AdminClient.lines(await this.admin.call('admin.vm.tag.List', vm));
  }

  addTag(vm: string, tag: string): Promise<string> {
    return this.admin.call('admin.vm.tag.Set', vm, tag);
  }

  removeTag(vm: string, tag: string): Promise<string> {
    return this.admin.call('admin.vm.tag.Remove', vm, tag);
  }

  async features(vm: string): Promise<string[]> {
    return AdminClient.lines(await this.admin.call('admin.vm.feature.List', vm));
  }

  setFeature(vm: string, name: string, value: string): Promise<string> {
    return this.admin.call('admin.vm.feature.Set', vm, name, value);
  }

  removeFeature(vm: string, name: string): Promise<string> {
    return this.admin.call('admin.vm.feature.Remove', vm, name);
  }

  async firewall(vm: string): Promise<string[]> {
    return AdminClient.lines(await this.admin.call('admin.vm.firewall.Get', vm));
  }

  async setFirewall(vm: string, rules: readonly string[]): Promise<void> {
    await this.admin.call('admin.vm.firewall.Set', vm, '', rules.map((rule) => `${rule}\n`).join(''));
    await this.admin.call('admin.vm.firewall.Reload', vm);
  }

  async notes(vm: string): Promise<string> {
    return this.admin.call('admin.vm.notes.Get', vm);
  }

  setNotes(vm: string, text: string): Promise<string> {
    return this.admin.call('admin.vm.notes.Set', vm, '', text);
  }

  /** The device classes qubesd knows (pci, usb, block, mic, …). */
  async deviceClasses(): Promise<string[]> {
    return AdminClient.lines(await this.admin.call('admin.deviceclass.List'));
  }

  /** The VM's assignments of a class, each as the call arg that names it (`BACKEND+PORT:DEVID`; before 4.3 `BACKEND+PORT`). */
  async assignedDevices(vm: string, devclass: string, legacy: boolean): Promise<string[]> {
    const listed = await this.admin.call(`admin.vm.device.${devclass}.${legacy ? 'List' : 'Assigned'}`, vm);
    return AdminClient.lines(listed).map((line) => line.split(' ')[0]!);
  }

  unassignDevice(vm: string, devclass: string, device: string): Promise<string> {
    return this.admin.call(`admin.vm.device.${devclass}.Unassign`, vm, device);
  }

  assignDevice(vm: string, devclass: string, device: string, payload: string): Promise<string> {
    return this.admin.call(`admin.vm.device.${devclass}.Assign`, vm, device, payload);
  }

  setDevicePersistent(vm: string, devclass: string, device: string, persistent: boolean): Promise<string> {
    return this.admin.call(`admin.vm.device.${devclass}.Set.persistent`, vm, device, persistent ? 'True' : 'False');
  }

  detachDevice(vm: string, devclass: string, device: string): Promise<string> {
    return this.admin.call(`admin.vm.device.${devclass}.Detach`, vm, device);
  }

  attachDevice(vm: string, devclass: string, device: string, payload: string): Promise<string> {
    return this.admin.call(`admin.vm.device.${devclass}.Attach`, vm, device, payload);
  }

  start(vm: string): Promise<string> {
    return this.admin.call('admin.vm.Start', vm);
  }

  shutdown(vm: string): Promise<string> {
    return this.admin.call('admin.vm.Shutdown', vm);
  }

  /** admin.vm.CreateInPool.CLASS+TEMPLATE (or admin.vm.Create when no pool is asked for). */
  create(klass: string, name: string, label: string, template: string, pool: string | undefined): Promise<string> {
    const payload = `name=${name} label=${label}${pool ? ` pool=${pool}` : ''}`;
    return this.admin.call(pool ? `admin.vm.CreateInPool.${klass}` : `admin.vm.Create.${klass}`, 'dom0', template, payload);
  }
}
