// Re-pairing after a receive into an LVM thin pool (behavior spec §5.2, last point): the LV now
// holds the volume's newest session, so a new `<lv>.skiff1` snapshot of it (tags skiff,
// arch-<uuid>, S_<session>) and the local pairing state make the next send incremental — it
// asks thin_delta for what changed since this snapshot instead of reading the whole LV.
//
// Only this archive's own snapshots of the LV are replaced. An LV with a slot name that is not a
// Skiff snapshot, or a Skiff snapshot of another archive, is left alone and the volume is not
// paired (the next send reads it whole, or skips it until --remap, as for any foreign snapshot).

import type { SessionRecord } from '../../archive/archive.js';
import { lvTimeOf } from '../../source/lvm/lvm-commands.js';
import type { LvmPool } from '../../source/lvm/lvm-pool.js';
import { lvmSnapshotNames, newSnapshotTags, snapshotMembership } from '../../source/lvm/snapshot-names.js';
import type { LocalState } from '../../state/local-state.js';
import type { Output } from '../output.js';

export interface RepairRequest {
  pool: LvmPool;
  uuid: string;
  vid: string;
  /** The LV (the volume's name). */
  name: string;
  /** The session the LV now holds: the volume's newest. */
  session: SessionRecord;
  state: LocalState;
}

/** Snapshots the received LV as `<lv>.skiff1` paired with `session`; returns whether it did. */
export async function repairThinVolume(request: RepairRequest, out: Output): Promise<boolean> {
  const { pool, uuid, name, session, state } = request;
  const { lvm, vg } = pool;
  const slots = lvmSnapshotNames(name);
  const rows = await lvm.lvs([vg]);
  for (const slot of [slots.next, slots.paired]) {
    const row = rows.find((r) => r.name === slot);
    if (!row) continue;
    const membership = snapshotMembership(row, uuid);
    if (membership !== 'this') {
      out.warn(
        `  Not pairing '${name}': '${vg}/${slot}' is ${membership === 'other' ? 'a snapshot of another archive' : 'not a Skiff snapshot'}; the next send reads it whole.`,
      );
      return false;
    }
  }
  for (const slot of [slots.next, slots.paired]) if (rows.some((r) => r.name === slot)) await lvm.removeLv(vg, slot);
  await state.removeVolume(request.vid);
  await lvm.createSnapshot(vg, name, slots.paired, [...newSnapshotTags(uuid, false), session.name]);
  const snapshot = await lvm.lv(vg, slots.paired);
  if (!snapshot) return false;
  // The record send checks (source/lvm-source.ts isPaired): this snapshot, its lv_time and size.
  await state.saveVolume(request.vid, {
    kind: 'lvm',
    session: session.name,
    sequence: session.info.sequence,
    snapshot: `${vg}/${slots.paired}`,
    snapshotMtimeNs: String(BigInt(lvTimeOf(snapshot)) * 1_000_000_000n),
    size: snapshot.size,
    volumeMtimeNs: '',
  });
  if (out.verbose) out.line(`Paired '${vg}/${name}' with ${session.name}.`);
  return true;
}
