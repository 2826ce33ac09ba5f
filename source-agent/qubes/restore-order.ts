// The order in which restore recreates VMs: a VM after every selected VM it names as template,
// netvm or default_dispvm (templates before the VMs based on them, netvms before their clients),
// disposables last, otherwise in name order. A cycle (Qubes refuses them) falls back to name order.

import type { QubesXmlDomain } from './qubes-xml.js';

export const REFERENCES = ['template', 'netvm', 'default_dispvm'] as const;

export function restoreOrder(domains: readonly QubesXmlDomain[]): QubesXmlDomain[] {
  const byName = new Map(domains.map((d) => [d.name, d]));
  const done = new Set<string>();
  const visiting = new Set<string>();
  const order: QubesXmlDomain[] = [];
  const visit = (domain: QubesXmlDomain) => {
    if (done.has(domain.name) || visiting.has(domain.name)) return;
    visiting.add(domain.name);
    for (const reference of REFERENCES) {
      const target = byName.get(domain.properties[reference] ?? '');
      if (target) visit(target);
    }
    visiting.delete(domain.name);
    done.add(domain.name);
    order.push(domain);
  };
  const sorted = [...domains].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const domain of sorted.filter((d) => d.klass === 'TemplateVM')) visit(domain);
  for (const domain of sorted.filter((d) => d.klass !== 'DispVM')) visit(domain);
  for (const domain of sorted) visit(domain);
  return order;
}
