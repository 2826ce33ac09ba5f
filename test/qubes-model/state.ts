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

/** A device assignment as qubesd keeps it (qubes.xml `<devices class=…><device …>`). */
export interface ModelDevice {
  backend: string;
  port: string;
  /** Qubes 4.3: 'required' | 'auto-attach' | 'ask-to-attach'. Before 4.3: persistent attachments are 'required'. */
  mode: string;
  options: Record<string, string>;
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
  /** Device class → assignments. */
  devices: Record<string, ModelDevice[]>;
  /** admin.vm.notes.Get/Set (Qubes ≥ 4.2), kept in <class dir>/NAME/notes.txt. */
  notes: string;
}
