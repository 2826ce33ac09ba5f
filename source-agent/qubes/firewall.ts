// A VM's firewall as it travels: firewall.xml in the metadata tar (what qubesd writes under
// /var/lib/qubes/{appvms,vm-templates}/NAME/), and the rule lines of admin.vm.firewall.Get/Set
// (`action=accept dsthost=example.com proto=tcp dstports=443-443`; a `comment=` goes last, as it
// may hold spaces). No firewall.xml means Qubes' default: accept everything.

import { QubesMetadataError } from '../errors.js';
import { child, childrenNamed, parseXml } from './xml.js';

export const DEFAULT_FIREWALL = ['action=accept'];

const FIELD = /^[a-z_]+$/;

/** Where qubesd keeps the VM's firewall.xml, relative to /var/lib/qubes. */
export function firewallPath(klass: string, name: string): string {
  return `${klass === 'TemplateVM' ? 'vm-templates' : 'appvms'}/${name}/firewall.xml`;
}

/** The rule lines of a firewall.xml from the archive. */
export function firewallRules(untrustedXml: string): string[] {
  const root = parseXml(untrustedXml);
  if (root.name !== 'firewall') throw new QubesMetadataError('firewall.xml: the root element is not <firewall>');
  return childrenNamed(child(root, 'rules'), 'rule').map((rule) => {
    const fields: string[] = [];
    let comment: string | null = null;
    for (const property of childrenNamed(child(rule, 'properties'), 'property')) {
      const name = property.attributes['name'] ?? '';
      const value = property.text;
      if (!FIELD.test(name) || /[\s]/.test(name === 'comment' ? '' : value) || /[\n\r]/.test(value)) {
        throw new QubesMetadataError(`firewall.xml: bad rule property ${JSON.stringify(name.slice(0, 20))}`);
      }
      if (name === 'comment') comment = value;
      else fields.push(`${name}=${value}`);
    }
    if (comment !== null) fields.push(`comment=${comment}`);
    return fields.join(' ');
  });
}
