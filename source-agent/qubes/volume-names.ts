// Archive volume names of Qubes VMs, as wyng-util-qubes names them: in an lvm_thin pool the LV
// name, `vm-NAME-private` / `vm-NAME-root`; in a file-reflink pool the volume's vid plus `.img`,
// `appvms/NAME/private.img` or `vm-templates/NAME/root.img`. And the reverse: which qube and which
// volume an archive volume name belongs to.

export type VolumeKind = 'private' | 'root';

export const METADATA_VOLUME = 'wyng-qubes-metadata';

/** Which volumes of a VM of this class are backed up: private always, root for templates and standalones. */
export function backedUpVolumes(klass: string): VolumeKind[] {
  return klass === 'TemplateVM' || klass === 'StandaloneVM' ? ['private', 'root'] : ['private'];
}

export function archiveVolumeName(vm: string, kind: VolumeKind, driver: string, vid: string): string {
  return driver === 'file-reflink' ? `${vid}.img` : `vm-${vm}-${kind}`;
}

/** The qube and volume an archive volume name stands for, or null for other volumes. */
export function qubeOfVolume(name: string): { qube: string; kind: VolumeKind } | null {
  const lvm = /^vm-(.+)-(private|root)$/.exec(name);
  if (lvm) return { qube: lvm[1]!, kind: lvm[2] as VolumeKind };
  const reflink = /^(?:appvms|vm-templates)\/(.+)\/(private|root)\.img$/.exec(name);
  if (reflink) return { qube: reflink[1]!, kind: reflink[2] as VolumeKind };
  return null;
}
