// The domains of a qubes.xml (Qubes 4.x, `<qubes version="3.0">`): class, properties, features,
// tags and volume configuration per domain, as restore needs them. A VM reference (template,
// netvm) is stored as the VM's name; both the text form and a `ref` attribute are accepted.

import { QubesMetadataError } from '../errors.js';
import { child, childrenNamed, parseXml } from './xml.js';

export interface QubesXmlVolume {
  name: string;
  pool: string;
  vid: string;
  size: number;
}

export interface QubesXmlDomain {
  name: string;
  klass: string;
  /** Properties set on the domain (those left at their default are absent, as in qubes.xml). */
  properties: Record<string, string>;
  features: Record<string, string>;
  tags: string[];
  volumes: Record<string, QubesXmlVolume>;
}

const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,30}$/;

export function isQubeName(name: string): boolean {
  return NAME.test(name) && !name.endsWith('.') && name !== 'none' && name !== 'default';
}

/** The domains, in document order, by name. dom0 (AdminVM) included. */
export function parseQubesXml(untrustedText: string): Map<string, QubesXmlDomain> {
  const root = parseXml(untrustedText);
  if (root.name !== 'qubes') throw new QubesMetadataError('qubes.xml: the root element is not <qubes>');
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
    const name = klass === 'AdminVM' ? 'dom0' : (properties['name'] ?? '');
    if (!isQubeName(name) && name !== 'dom0')
      throw new QubesMetadataError(`qubes.xml: bad domain name ${JSON.stringify(name.slice(0, 40))}`);
    domains.set(name, { name, klass, properties, features, tags, volumes });
  }
  return domains;
}
