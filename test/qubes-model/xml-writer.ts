// Writes the model's state as qubes.xml (the layout qubesd writes: labels, pools, global
// properties, domains with properties, features, tags, devices and volume-config), so that
// skiff-qubes' backup reads a file like the real one from the model's /var/lib/qubes.

import { encodeXmlText } from '../../source-agent/qubes/xml.js';
import { LABELS } from './properties.js';
import type { ModelDomain, ModelPool } from './state.js';

function attributes(values: Record<string, string | undefined>): string {
  return Object.entries(values)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => ` ${key}="${encodeXmlText(value ?? '')}"`)
    .join('');
}

export function writeQubesXml(pools: readonly ModelPool[], globals: Record<string, string>, domains: readonly ModelDomain[]): string {
  const out: string[] = ["<?xml version='1.0' encoding='UTF-8'?>", '<qubes version="3.0">', '  <labels>'];
  LABELS.forEach((label, i) => {
    out.push(`    <label id="label-${i + 1}" color="0x000000">${label}</label>`);
  });
  out.push('  </labels>', '  <pools>');
  for (const pool of pools) out.push(`    <pool${attributes({ name: pool.name, driver: pool.driver, ...pool.config })}/>`);
  out.push('  </pools>', '  <properties>');
  for (const [name, value] of Object.entries(globals)) out.push(`    <property name="${name}">${encodeXmlText(value)}</property>`);
  out.push('  </properties>', '  <domains>');
  for (const domain of domains) {
    out.push(`    <domain id="domain-${domain.qid}" class="${domain.klass}">`, '      <properties>');
    for (const [name, value] of Object.entries(domain.properties)) {
      out.push(`        <property name="${name}">${encodeXmlText(value)}</property>`);
    }
    out.push('      </properties>', '      <features>');
    for (const [name, value] of Object.entries(domain.features))
      out.push(`        <feature name="${name}">${encodeXmlText(value)}</feature>`);
    out.push('      </features>', '      <tags>');
    for (const tag of domain.tags) out.push(`        <tag name="${encodeXmlText(tag)}"/>`);
    out.push('      </tags>');
    for (const [klass, devices] of Object.entries(domain.devices)) {
      out.push(`      <devices class="${klass}">`);
      for (const device of devices) {
        // Both spellings: `required` (what Qubes' backup restore reads) and the 4.3 `mode`.
        const required = device.mode === 'required' ? 'yes' : 'no';
        out.push(`        <device${attributes({ 'backend-domain': device.backend, id: device.port, mode: device.mode, required })}>`);
        for (const [name, value] of Object.entries(device.options))
          out.push(`          <option name="${encodeXmlText(name)}">${encodeXmlText(value)}</option>`);
        out.push('        </device>');
      }
      out.push('      </devices>');
    }
    out.push('      <volume-config>');
    for (const volume of Object.values(domain.volumes)) {
      out.push(
        `        <volume${attributes({
          name: volume.name,
          pool: volume.pool,
          vid: volume.vid || undefined,
          size: String(volume.size),
          rw: volume.rw ? 'True' : 'False',
          save_on_stop: volume.saveOnStop ? 'True' : undefined,
          snap_on_start: volume.snapOnStart ? 'True' : undefined,
          source: volume.source || undefined,
        })}/>`,
      );
    }
    out.push('      </volume-config>', '    </domain>');
  }
  out.push('  </domains>', '</qubes>', '');
  return out.join('\n');
}

/** A VM's firewall.xml (Qubes 4: `<firewall version="2"><rules><rule><properties>…`). */
export function writeFirewallXml(rules: readonly string[]): string {
  const out = ["<?xml version='1.0' encoding='UTF-8'?>", '<firewall version="2">', '  <rules>'];
  for (const rule of rules) {
    out.push('    <rule>', '      <properties>');
    for (const field of rule.split(' ')) {
      const eq = field.indexOf('=');
      out.push(`        <property name="${field.slice(0, eq)}">${encodeXmlText(field.slice(eq + 1))}</property>`);
    }
    out.push('      </properties>', '    </rule>');
  }
  out.push('  </rules>', '</firewall>', '');
  return out.join('\n');
}
