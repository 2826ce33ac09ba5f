// receive into an LVM thin pool (`--local=VG/POOL`, behavior spec §5.2) and onto a thin LV named
// by `--save-to=/dev/VG/LV`: the LV is created in the pool when missing and resized to the
// session's size (LVM rounds to whole extents, so an LV already of the rounded size is kept); it
// is then discarded and written (restore-target.ts, discard mode); afterwards it gets the
// session's permission (`lvchange -p r|rw`, only when different), and after a receive of the
// volume's newest session into --local it is paired again (a new `<lv>.skiff1` holding that
// session), so the next send is incremental rather than a full read.

import { LocalStorageError } from '../../errors.js';
import { LVM_NAME, type Lvm } from '../../source/lvm/lvm-commands.js';
import type { LvmPool } from '../../source/lvm/lvm-pool.js';
import { fitsSnapshotSuffix } from '../../source/lvm/snapshot-names.js';
import { activateVolume, createThinVolume, extentSize, resizeVolume, sizeFits } from '../../source/lvm/thin-volumes.js';
import type { Output } from '../output.js';

/** Makes `/dev/VG/<name>` a writable, active thin LV of the pool with room for `volsize` bytes; returns its path. */
export async function prepareThinVolume(pool: LvmPool, name: string, volsize: number, out: Output): Promise<string> {
  const { lvm, vg } = pool;
  if (!LVM_NAME.test(name) || !fitsSnapshotSuffix(name))
    throw new LocalStorageError(`Volume '${name}' cannot be an LV name in ${vg}/${pool.pool} (use --save-to).`);
  const row = await lvm.lv(vg, name);
  if (!row) {
    out.line(`Creating '${name}' in thin pool /dev/${vg}/[${pool.pool}].`);
    await createThinVolume(lvm, vg, pool.pool, name, Math.max(volsize, 512));
  } else {
    if (row.attr[0] !== 'V') throw new LocalStorageError(`'${vg}/${name}' exists and is not a thin volume (lv_attr ${row.attr}).`);
    if (!sizeFits(row.size, volsize, await extentSize(lvm, vg))) await resizeVolume(lvm, vg, name, Math.max(volsize, 512));
    if (row.attr[1] !== 'w') await lvm.setPermission(vg, name, 'rw');
    if (row.attr[4] !== 'a') await activateVolume(lvm, vg, name);
  }
  return `/dev/${vg}/${name}`;
}

/**
 * The LV permission a session's `permissions` asks for: 'r'/'w' from an LVM source, and for a
 * session sent from a file ("mode:user:group") the owner's write bit, as Wyng does; null for none.
 */
export function lvPermission(permissions: string): 'r' | 'rw' | null {
  if (permissions === 'r') return 'r';
  if (permissions === 'w') return 'rw';
  const mode = permissions.split(':')[0] ?? '';
  if (permissions.split(':').length === 3 && /^[0-9]+$/.test(mode)) return Number(mode) & 0o200 ? 'rw' : 'r';
  return null;
}

/** Gives VG/name the session's permission (`lvchange -p`, only when it differs). */
export async function applyLvPermission(lvm: Lvm, vg: string, name: string, permissions: string): Promise<void> {
  const mode = lvPermission(permissions);
  if (mode) await lvm.setPermission(vg, name, mode);
}
