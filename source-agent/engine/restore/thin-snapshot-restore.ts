// receive --use-snapshot(-diff) into an LVM thin pool (behavior spec §5.4): when `<lv>.skiff1`
// still holds the volume's newest session as send recorded it (paired state "Y": this archive's
// snapshot, tagged with the session, same lv_time and size, no monitor changes pending), the LV
// is removed and made again as a writable thin snapshot of it — instant, and sharing every block.
// The caller then either stops (the newest session: "Snapshot retrieved.") or writes an older
// session over it, only where chunks differ. `.skiff1` itself is left as it is: it still holds
// the newest session, so the pairing stands.

import type { SessionRecord } from '../../archive/archive.js';
import { LocalStorageError } from '../../errors.js';
import { LVM_NAME } from '../../source/lvm/lvm-commands.js';
import type { LvmPool } from '../../source/lvm/lvm-pool.js';
import { lvmSnapshotNames, parseSnapshotLvName, snapshotMembership } from '../../source/lvm/snapshot-names.js';
import { extentSize, resizeVolume, sizeFits } from '../../source/lvm/thin-volumes.js';
import { isPaired } from '../../source/lvm-source.js';
import type { LocalState } from '../../state/local-state.js';

export interface ThinSnapshotVolume {
  pool: LvmPool;
  uuid: string;
  vid: string;
  /** The LV (the volume's name). */
  name: string;
  state: LocalState;
}

/** `VG/<lv>.skiff1` when it holds `newest` as recorded, else null. */
export async function usableThinSnapshot(volume: ThinSnapshotVolume, newest: SessionRecord): Promise<string | null> {
  const { pool, name } = volume;
  if (!LVM_NAME.test(name) || parseSnapshotLvName(name)) return null;
  const names = lvmSnapshotNames(name);
  const row = await pool.lvm.lv(pool.vg, names.paired);
  const recorded = await volume.state.volume(volume.vid);
  if (!row || snapshotMembership(row, volume.uuid) !== 'this' || recorded?.deltamap) return null;
  // A thin snapshot lives in its origin's pool: one in another pool than --local's would put the volume there.
  if (pool.pool && row.pool !== pool.pool) return null;
  const last = { name: newest.name, sequence: newest.info.sequence, volsize: newest.info.volsize, permissions: newest.info.permissions };
  return isPaired(pool.vg, names, row, recorded, last) ? names.paired : null;
}

/** Replaces the LV by a writable snapshot of `snapshot`, sized for `volsize`; returns its path. */
export async function thinVolumeFromSnapshot(volume: ThinSnapshotVolume, snapshot: string, volsize: number): Promise<string> {
  const { lvm, vg } = volume.pool;
  const { name } = volume;
  const row = await lvm.lv(vg, name);
  if (row) {
    if (row.attr[0] !== 'V') throw new LocalStorageError(`'${vg}/${name}' exists and is not a thin volume (lv_attr ${row.attr}).`);
    await lvm.removeLv(vg, name);
  }
  await lvm.createSnapshot(vg, snapshot, name, []);
  await lvm.setPermission(vg, name, 'rw');
  const made = await lvm.lv(vg, name);
  if (!made) throw new LocalStorageError(`'${vg}/${name}' did not appear after the snapshot.`);
  if (!sizeFits(made.size, volsize, await extentSize(lvm, vg))) await resizeVolume(lvm, vg, name, Math.max(volsize, 512));
  return `/dev/${vg}/${name}`;
}
