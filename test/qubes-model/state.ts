// The Qubes model's state: pools, global properties and domains, held by the model's qubesd in
// memory and written to its /var/lib/qubes/qubes.xml after every change. Qubes is modelled here
// (no Xen, no qubesd): see README.md.

export interface ModelPool {
  name: string;
  driver: string;
  config: Record<string, string>;
}

export interface ModelVolume {
  name: string;
  pool: string;
  /** `VG/LV` for lvm_thin; empty for a volume with no storage of its own (volatile, kernel). */
  vid: string;
  size: number;
  rw: boolean;
  saveOnStop: boolean;
  snapOnStart: boolean;
  source: string;
}

export interface ModelDomain {
  qid: number;
  name: string;
  klass: string;
  /** Properties set explicitly (qubes.xml holds only these); name, qid, uuid included. */
  properties: Record<string, string>;
  features: Record<string, string>;
  tags: string[];
  volumes: Record<string, ModelVolume>;
  /** Firewall rules as admin.vm.firewall.Get gives them (`action=accept dsthost=…`); null: never set (accept all). */
  firewall: string[] | null;
  power: 'Halted' | 'Running';
}
