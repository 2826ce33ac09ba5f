// A restored VM's device assignments (PCI, USB, block, … from its qubes.xml), as wyng-util-qubes
// restores them: every assignment the VM has now is removed, then each one of the backup is made.
// Qubes 4.3 has assignments with a mode: admin.vm.device.CLASS.Assigned / Unassign / Assign
// (arg `BACKEND+PORT:DEVICE_ID`, payload `key='value' …` as qubesadmin serializes a
// DeviceAssignment; a backed-up device is matched by port, device id `*`, required or
// auto-attach). Before 4.3: persistent attachments, admin.vm.device.CLASS.List /
// Set.persistent False + Detach / Attach (arg `BACKEND+PORT`, payload `OPT=VALUE … persistent=True`).

import { QubesAdminError } from '../errors.js';
import type { QubesHost } from './qubes-host.js';
import type { QubesXmlDevice } from './qubes-xml.js';

/** A value as qubesadmin's device protocol quotes it. */
function quoted(value: string): string {
  return `'${value.replaceAll("'", "\\'")}'`;
}

/** The Assign payload of a 4.3 assignment. */
export function assignmentPayload(device: QubesXmlDevice, devclass: string, frontend: string): string {
  const fields: [string, string][] = [
    ['device_id', '*'],
    ['port_id', device.port],
    ['devclass', devclass],
    ['backend_domain', device.backend],
    ['mode', device.mode === 'required' ? 'required' : device.mode === 'ask-to-attach' ? 'ask-to-attach' : 'auto-attach'],
    ['frontend_domain', frontend],
    ...Object.entries(device.options).map(([name, value]): [string, string] => [`_${name}`, value]),
  ];
  return fields.map(([key, value]) => `${key}=${quoted(value)}`).join(' ');
}

/** The Attach payload before 4.3: options sorted, then persistent. */
export function attachPayload(device: QubesXmlDevice): string {
  const options = { ...device.options, persistent: 'True' };
  return Object.keys(options)
    .sort()
    .map((name) => `${name}=${options[name as keyof typeof options]}`)
    .join(' ');
}

export interface DeviceRestore {
  host: QubesHost;
  legacy: boolean;
  warn: (line: string) => void;
  debug: (line: string) => void;
}

/** Makes the VM's assignments those of the backup; true when one could not be removed or made. */
export async function restoreDevices(how: DeviceRestore, vm: string, wanted: Record<string, QubesXmlDevice[]>): Promise<boolean> {
  const { host, legacy, warn, debug } = how;
  let failed = false;
  let classes: string[] = [];
  try {
    classes = await host.deviceClasses();
  } catch (error) {
    if (!(error instanceof QubesAdminError)) throw error;
    warn(`Error listing device classes: ${error.message}`);
    failed = true;
  }
  for (const devclass of classes) {
    try {
      for (const device of await host.assignedDevices(vm, devclass, legacy)) {
        debug(`detach device: ${devclass} ${device}`);
        if (legacy) {
          await host.setDevicePersistent(vm, devclass, device, false).catch(() => undefined);
          await host.detachDevice(vm, devclass, device);
        } else await host.unassignDevice(vm, devclass, device);
      }
    } catch (error) {
      if (!(error instanceof QubesAdminError)) throw error;
      warn(`Error un-assigning ${devclass} device: ${error.message}`);
      failed = true;
    }
  }
  for (const [devclass, devices] of Object.entries(wanted)) {
    for (const device of devices) {
      debug(`assign ${devclass} device: ${device.backend}, ${device.port}`);
      try {
        if (legacy) await host.attachDevice(vm, devclass, `${device.backend}+${device.port}`, attachPayload(device));
        else await host.assignDevice(vm, devclass, `${device.backend}+${device.port}:*`, assignmentPayload(device, devclass, vm));
      } catch (error) {
        if (!(error instanceof QubesAdminError)) throw error;
        warn(`Error assigning device ${devclass}:${device.port} to ${vm}: ${error.message}`);
        failed = true;
      }
    }
  }
  return failed;
}
