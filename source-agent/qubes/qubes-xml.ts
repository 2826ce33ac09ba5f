// The domains of a qubes.xml (Qubes 4.x, `<qubes version="3.0">`): class, properties, features,
// tags, device assignments and volume configuration per domain, as restore needs them. A VM
// reference (template, netvm) is stored as the VM's name; both the text form and a `ref`
// attribute are accepted. Qubes saves a label as its id (`label-8`): it is read back as the
// label's name through the file's <labels> table (a name is kept as it is).

import { QubesMetadataError } from '../errors.js';
import { child, childrenNamed, parseXml, type XmlElement } from './xml.js';

export interface QubesXmlVolume {
  name: string;
  pool: string;
  vid: string;
  size: number;
}

/** One assigned device: `<devices class=C><device backend-domain=B id=P [required=yes|no] [mode=M]><option name=N>V</option>`. */
export interface QubesXmlDevice {
  backend: string;
  port: string;
  /** 'required' or 'auto-attach' (from `required`, default yes, as Qubes' own restore reads it); `mode` when the file has one. */
  mode: string;
  options: Record<string, string>;
}

export interface QubesXmlDomain {
  name: string;
  klass: string;
  /** Properties set on the domain (those left at their default are absent, as in qubes.xml). */
  properties: Record<string, string>;
  features: Record<string, string>;
  tags: string[];
  volumes: Record<string, QubesXmlVolume>;
  /** Device class (pci, usb, block, …) → its assignments, in file order. */
  devices: Record<string, QubesXmlDevice[]>;
}

const TRUE_WORDS = new Set(['yes', 'true', 'on', '1']);
const DEVICE_MODES = new Set(['required', 'auto-attach', 'ask-to-attach', 'manual']);
const DEVICE_CLASS = /^[a-z][a-z0-9_-]{0,30}$/;
// A device's fields go into Admin API arguments (`BACKEND+PORT`) and payloads (`key='value' …`,
// or unquoted before 4.3): a port or an option that could close a quote, add a field or split the
// argument is refused, as Qubes' own identifiers never hold one.
const DEVICE_PORT = /^[A-Za-z0-9_.:-]{1,128}$/;
const DEVICE_OPTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const DEVICE_OPTION_VALUE = /^[\x21-\x26\x28-\x5b\x5d-\x7e]{0,255}$/;

function badDevice(what: string, value: string): QubesMetadataError {
  return new QubesMetadataError(`qubes.xml: bad device ${what} ${JSON.stringify(value.slice(0, 40))}`);
}

function parseDevices(element: XmlElement): Record<string, QubesXmlDevice[]> {
  const devices: Record<string, QubesXmlDevice[]> = {};
  for (const bus of childrenNamed(element, 'devices')) {
    const klass = bus.attributes['class'] ?? '';
    if (!DEVICE_CLASS.test(klass)) throw new QubesMetadataError(`qubes.xml: bad device class ${JSON.stringify(klass.slice(0, 40))}`);
    for (const device of childrenNamed(bus, 'device')) {
      const backend = device.attributes['backend-domain'] ?? '';
      const port = device.attributes['id'] ?? '';
      if (!isQubeName(backend) && backend !== 'dom0') throw badDevice('backend', backend);
      if (!DEVICE_PORT.test(port)) throw badDevice('port', port);
      const options: Record<string, string> = {};
      for (const option of childrenNamed(device, 'option')) {
        const name = option.attributes['name'];
        if (!name) continue;
        if (!DEVICE_OPTION_NAME.test(name)) throw badDevice('option', name);
        if (!DEVICE_OPTION_VALUE.test(option.text)) throw badDevice(`option value of ${name}`, option.text);
        options[name] = option.text;
      }
      const declared = device.attributes['mode'];
      const mode =
        declared && DEVICE_MODES.has(declared)
          ? declared
          : TRUE_WORDS.has((device.attributes['required'] ?? 'yes').toLowerCase())
            ? 'required'
            : 'auto-attach';
      const list = devices[klass] ?? [];
      list.push({ backend, port, mode, options });
      devices[klass] = list;
    }
  }
  return devices;
}

const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,30}$/;

export function isQubeName(name: string): boolean {
  return NAME.test(name) && !name.endsWith('.') && name !== 'none' && name !== 'default';
}

/** The domains, in document order, by name. dom0 (AdminVM) included. */
export function parseQubesXml(untrustedText: string): Map<string, QubesXmlDomain> {
  const root = parseXml(untrustedText);
  if (root.name !== 'qubes') throw new QubesMetadataError('qubes.xml: the root element is not <qubes>');
  const labels = new Map<string, string>();
  for (const label of childrenNamed(child(root, 'labels'), 'label'))
    if (label.attributes['id']) labels.set(label.attributes['id'], label.text);
  const domains = new Map<string, QubesXmlDomain>();
  for (const element of childrenNamed(child(root, 'domains'), 'domain')) {
    const klass = element.attributes['class'] ?? '';
    const properties: Record<string, string> = {};
    for (const property of childrenNamed(child(element, 'properties'), 'property')) {
      const name = property.attributes['name'];
      if (name) properties[name] = property.attributes['ref'] ?? property.text;
    }
    const features: Record<string, string> = {};
    for (const feature of childrenNamed(child(element, 'features'), 'feature')) {
      const name = feature.attributes['name'];
      if (name) features[name] = feature.text;
    }
    const tags = childrenNamed(child(element, 'tags'), 'tag').flatMap((tag) => (tag.attributes['name'] ? [tag.attributes['name']] : []));
    const volumes: Record<string, QubesXmlVolume> = {};
    for (const volume of childrenNamed(child(element, 'volume-config'), 'volume')) {
      const name = volume.attributes['name'];
      if (!name) continue;
      volumes[name] = {
        name,
        pool: volume.attributes['pool'] ?? '',
        vid: volume.attributes['vid'] ?? '',
        size: Number(volume.attributes['size'] ?? 0),
      };
    }
    if (properties['label'] !== undefined) properties['label'] = labels.get(properties['label']) ?? properties['label'];
    const name = klass === 'AdminVM' ? 'dom0' : (properties['name'] ?? '');
    if (!isQubeName(name) && name !== 'dom0')
      throw new QubesMetadataError(`qubes.xml: bad domain name ${JSON.stringify(name.slice(0, 40))}`);
    domains.set(name, { name, klass, properties, features, tags, volumes, devices: parseDevices(element) });
  }
  return domains;
}
