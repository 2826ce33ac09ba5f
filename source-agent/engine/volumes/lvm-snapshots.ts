// The LVM side of delete, delete --clean/--purge and arch-check --clean: Skiff's thin snapshots
// `<lv>.skiff1|2` in the pool's VG (source/lvm/snapshot-names.ts). An LV is only ever removed
// when it is a Skiff snapshot (the suffix AND the tag `skiff`); whose it is comes from its
// `arch-<uuid>` tag. Wyng's `.tick/.tock` (tag `wyng`) and every other LV are never touched.

import type { LvmPool } from '../../source/lvm/lvm-pool.js';
import { lvmSnapshotNames, parseSnapshotLvName, SKIFF_TAG, snapshotMembership } from '../../source/lvm/snapshot-names.js';
import type { Output } from '../output.js';
import type { Purge } from './local-snapshots.js';

async function remove(pool: LvmPool, name: string, out: Output): Promise<void> {
  await pool.lvm.removeLv(pool.vg, name);
  if (out.verbose) out.line(`Removed ${pool.vg}/${name}`);
}

/** delete: removes this archive's snapshots of the volume's LV; returns how many. */
export async function removeLvmVolumeSnapshots(pool: LvmPool, uuid: string, name: string, out: Output): Promise<number> {
  const slots = lvmSnapshotNames(name);
  let removed = 0;
  for (const row of await pool.lvm.lvs([pool.vg])) {
    if ((row.name === slots.paired || row.name === slots.next) && snapshotMembership(row, uuid) === 'this') {
      await remove(pool, row.name, out);
      removed++;
    }
  }
  return removed;
}

/**
 * delete --clean / --purge and arch-check --clean (behavior spec §2.6 with Skiff's names): with
 * `archive` null (--clean --all) every Skiff snapshot in the VG goes; otherwise this archive's
 * snapshots that are not the paired snapshot (`.skiff1`) of one of its volumes (all of them with
 * purge=full), and with purge=other also every other archive's. While some volume's metadata
 * cannot be read, this archive's `.skiff1` snapshots stay (that volume's name is unknown).
 */
export async function cleanLvmSnapshots(
  pool: LvmPool,
  archive: { uuid: string; names: ReadonlySet<string>; someUnreadable: boolean } | null,
  purge: Purge,
  out: Output,
): Promise<number> {
  let removed = 0;
  for (const row of await pool.lvm.lvs([pool.vg])) {
    const parsed = parseSnapshotLvName(row.name);
    if (!parsed || !row.tags.includes(SKIFF_TAG)) continue;
    let drop: boolean;
    if (archive === null) drop = true;
    else {
      const membership = snapshotMembership(row, archive.uuid);
      if (membership === 'this') {
        const current = parsed.slot === 1 && (archive.names.has(parsed.origin) || archive.someUnreadable);
        drop = purge === 'full' || !current;
      } else drop = purge === 'other';
    }
    if (drop) {
      await remove(pool, row.name, out);
      removed++;
    }
  }
  return removed;
}
