// The VM properties the Qubes model knows: type and default, as qubesd reports them through
// admin.vm.property.Get (`default=True type=int 400`). A subset of Qubes 4.3's properties: those
// in the seed qubes.xml and those skiff-qubes reads or sets. Qubes is modelled, not run.

export type PropertyType = 'str' | 'int' | 'bool' | 'vm' | 'label';

export interface PropertyDefinition {
  type: PropertyType;
  /** The default's text; for vm-typed properties a global property's name prefixed with `@`. */
  fallback: string;
  /** Only qubesd sets it (admin.vm.property.Set refuses it). */
  readOnly?: boolean;
}

export const PROPERTIES: Record<string, PropertyDefinition> = {
  name: { type: 'str', fallback: '', readOnly: true },
  qid: { type: 'int', fallback: '', readOnly: true },
  uuid: { type: 'str', fallback: '', readOnly: true },
  label: { type: 'label', fallback: '' },
  template: { type: 'vm', fallback: '@default_template' },
  netvm: { type: 'vm', fallback: '@default_netvm' },
  default_dispvm: { type: 'vm', fallback: '@default_dispvm' },
  memory: { type: 'int', fallback: '400' },
  maxmem: { type: 'int', fallback: '4000' },
  vcpus: { type: 'int', fallback: '2' },
  virt_mode: { type: 'str', fallback: 'pvh' },
  kernel: { type: 'str', fallback: '6.6.63-1' },
  provides_network: { type: 'bool', fallback: 'False' },
  include_in_backups: { type: 'bool', fallback: 'True' },
  autostart: { type: 'bool', fallback: 'False' },
  debug: { type: 'bool', fallback: 'False' },
  template_for_dispvms: { type: 'bool', fallback: 'False' },
  auto_cleanup: { type: 'bool', fallback: 'False' },
  installed_by_rpm: { type: 'bool', fallback: 'False' },
  backup_timestamp: { type: 'int', fallback: '' },
};

export const LABELS = ['red', 'orange', 'yellow', 'green', 'gray', 'blue', 'purple', 'black'];
