// Volumes that are thin LVs of an LVM thin pool (--local=VG/POOL), the storage of Qubes OS. Send
// works from read-only thin snapshots in the same VG (names and tags: lvm/snapshot-names.ts):
// `<lv>.skiff1` is paired with the archive's newest session, `<lv>.skiff2` is taken now and read
// from /dev/VG/<lv>.skiff2. What changed between the two comes from the pool's metadata through
// thin_delta (lvm/lvm-delta.ts), so an incremental send reads only the chunks holding changed
// pool blocks, whatever the volume's size.
//
// Pairing (local state, like reflink's): the session, the snapshot's lv_time (ns) and size. Any
// doubt — the record, the snapshot's time, size or session tag disagree — removes .skiff1 and the
// volume is read whole (the engine still stores only chunks whose hash changed).
//
// Rotation after a successful send: tag .skiff2 with the session, record the new pairing, remove
// .skiff1, rename .skiff2 → .skiff1. A crash between the record and the rename is recovered at the
// next run ("Recovered interrupted snapshot rotation"), as Wyng does.

import { VolumeFailure } from '../errors.js';
import type { VolumeState } from '../state/local-state.js';
import { withDeltamap } from './deltamap.js';
import type { LvmDeltaBatch } from './lvm/delta-batch.js';
import { type LvRow, lvTimeOf } from './lvm/lvm-commands.js';
import { changedBytes, type DeltaRequest } from './lvm/lvm-delta.js';
import type { LvmPool } from './lvm/lvm-pool.js';
import {
  DELTA_TAG,
  fitsSnapshotSuffix,
  lvmSnapshotNames,
  newSnapshotTags,
  parseSnapshotLvName,
  type SnapshotNames,
  snapshotMembership,
} from './lvm/snapshot-names.js';
import type { PreparedVolume, VolumeRequest } from './volume-source.js';

export interface LvmVolumeRequest extends VolumeRequest<LvmPool> {
  /** Remove another archive's snapshots of this volume instead of skipping it. */
  remap: boolean;
  /** The run's delta step: this volume's thin_delta runs with the others of its pool, after every volume is prepared. */
  batch: LvmDeltaBatch;
  signal?: AbortSignal;
  note: (text: string) => void;
}

export const nsOf = (seconds: number): bigint => BigInt(seconds) * 1_000_000_000n;

/** "w" or "r", as Wyng records an LV's permission (lv_attr[1]). */
export function lvPermissions(row: LvRow): string {
  return row.attr[1] === 'w' ? 'w' : 'r';
}

/** What prepare found about a volume and its two snapshot slots, after the membership checks. */
export interface LvmVolumeSlots {
  origin: LvRow;
  names: SnapshotNames;
  /** This archive's snapshots (another archive's were refused or, with --remap, removed). */
  paired: LvRow | null;
  next: LvRow | null;
}

/** Finds the volume and its snapshots; refuses what is not ours to touch. */
export async function inspectLvmVolume(
  request: Pick<LvmVolumeRequest, 'pool' | 'name' | 'uuid' | 'remap' | 'note'>,
): Promise<LvmVolumeSlots> {
  const { pool, name } = request;
  const { vg, lvm } = pool;
  if (parseSnapshotLvName(name)) throw new VolumeFailure(`'${vg}/${name}' is a Skiff snapshot, not a volume.`);
  if (!fitsSnapshotSuffix(name)) throw new VolumeFailure(`'${vg}/${name}': the name is too long for its snapshot names.`);
  const rows = await lvm.lvs([vg]);
  const origin = rows.find((r) => r.name === name);
  if (!origin) throw new VolumeFailure(`Local '${vg}/${name}' does not exist!`);
  if (origin.attr[0] !== 'V' || origin.pool !== pool.pool || origin.thinId === null)
    throw new VolumeFailure(`'${vg}/${name}' is not a thin volume of pool ${vg}/${pool.pool}.`);
  const names = lvmSnapshotNames(name);
  const slot = async (snapshot: string): Promise<LvRow | null> => {
    const row = rows.find((r) => r.name === snapshot);
    if (!row) return null;
    const membership = snapshotMembership(row, request.uuid);
    if (membership === 'none') throw new VolumeFailure(`'${vg}/${snapshot}' exists but is not a Skiff snapshot; Skiff leaves it alone.`);
    if (membership === 'other') {
      if (!request.remap) throw new VolumeFailure(`Skipping ${name}; snapshot is from a different archive. Use --remap to clear it.`);
      await lvm.removeLv(vg, snapshot);
      request.note(`  Removed '${snapshot}' of another archive (--remap).`);
      return null;
    }
    return row;
  };
  return { origin, names, paired: await slot(names.paired), next: await slot(names.next) };
}

/** Whether `paired` still holds the archive's newest session `last`, as recorded. */
export function isPaired(
  vg: string,
  names: SnapshotNames,
  paired: LvRow | null,
  recorded: VolumeState | null,
  last: LvmVolumeRequest['last'],
): paired is LvRow {
  return (
    last !== null &&
    paired !== null &&
    paired.thinId !== null &&
    recorded?.kind === 'lvm' &&
    recorded.session === last.name &&
    recorded.sequence === last.sequence &&
    recorded.snapshot === `${vg}/${names.paired}` &&
    recorded.snapshotMtimeNs === String(nsOf(lvTimeOf(paired))) &&
    recorded.size === paired.size &&
    // Tagged with the session when it was rotated in (by send), or the last session (by monitor).
    paired.tags.includes(last.name)
  );
}

/** Finishes a rotation a crash interrupted: the pairing was recorded for .skiff2 but it was not renamed yet. */
async function recoverRotation(request: LvmVolumeRequest, slots: LvmVolumeSlots, recorded: VolumeState | null): Promise<LvmVolumeSlots> {
  const { pool, last } = request;
  const { next, names } = slots;
  if (
    !next ||
    !last ||
    recorded?.kind !== 'lvm' ||
    recorded.session !== last.name ||
    recorded.snapshotMtimeNs !== String(nsOf(lvTimeOf(next))) ||
    !next.tags.includes(last.name) ||
    next.tags.includes(DELTA_TAG)
  )
    return slots;
  if (slots.paired) await pool.lvm.removeLv(pool.vg, names.paired);
  await pool.lvm.rename(pool.vg, names.next, names.paired);
  request.note(`  Recovered interrupted snapshot rotation: ${request.name}`);
  return { ...slots, paired: { ...next, name: names.paired }, next: null };
}

/** Takes .skiff2 (removing a stale one first) and returns its row. */
export async function takeSnapshot(pool: LvmPool, slots: LvmVolumeSlots, uuid: string, byMonitor: boolean): Promise<LvRow> {
  const { lvm, vg } = pool;
  if (slots.next) await lvm.removeLv(vg, slots.names.next);
  await lvm.createSnapshot(vg, slots.origin.name, slots.names.next, newSnapshotTags(uuid, byMonitor));
  const row = await lvm.lv(vg, slots.names.next);
  if (!row || row.thinId === null) throw new VolumeFailure(`Snapshot '${vg}/${slots.names.next}' did not appear.`);
  if (row.time === null) {
    // Its time is the pairing token: a snapshot without a readable one is of no use; not left behind.
    await lvm.removeLv(vg, slots.names.next);
    lvTimeOf(row);
  }
  return row;
}

/** The thin_delta request between the paired snapshot and the one just taken (both have thin ids). */
export function deltaBetween(paired: LvRow, next: LvRow, chunkSize: number, signal?: AbortSignal): DeltaRequest {
  if (paired.thinId === null || next.thinId === null) throw new Error('a snapshot without a thin id');
  return { thin1: paired.thinId, thin2: next.thinId, chunkSize, oldSize: paired.size, newSize: next.size, ...(signal ? { signal } : {}) };
}

/** Removes an LV if it is there (a discard after a failure must not fail on what is gone). */
export async function removeIfPresent(pool: LvmPool, lv: string): Promise<void> {
  if (await pool.lvm.lv(pool.vg, lv)) await pool.lvm.removeLv(pool.vg, lv);
}

export async function prepareLvmVolume(request: LvmVolumeRequest): Promise<PreparedVolume> {
  const { pool, name, vid, state, last, chunkSize } = request;
  const { lvm, vg } = pool;
  const recorded = await state.volume(vid);
  let slots = await inspectLvmVolume(request);
  slots = await recoverRotation(request, slots, recorded);
  const { names } = slots;
  const paired = isPaired(vg, names, slots.paired, recorded, last) ? slots.paired : null;
  if (slots.paired && !paired) await lvm.removeLv(vg, names.paired);

  const next = await takeSnapshot(pool, slots, request.uuid, false);
  // null: read every chunk (no pairing); set by the batch's delta step otherwise.
  let changed: Uint8Array | null = null;
  if (paired && paired.thinId !== null && next.thinId !== null) {
    request.batch.add(pool, deltaBetween(paired, next, chunkSize, request.signal), async (delta) => {
      const marks = changedBytes(delta.ranges, next.size, chunkSize);
      // Monitor's accumulated changes since the session; a map recorded but gone: read everything.
      changed = recorded?.deltamap ? await withDeltamap(state, vid, marks) : marks;
    });
  } else request.note(`  Queuing full scan of '${name}'`);

  return {
    path: `/dev/${vg}/${names.next}`,
    size: next.size,
    mtimeNs: nsOf(lvTimeOf(next)),
    permissions: lvPermissions(slots.origin),
    get changed() {
      return changed;
    },
    unchanged: false,
    alwaysSession: false,
    async commit(session, sequence) {
      await lvm.changeTags(vg, names.next, [session]);
      await state.saveVolume(vid, {
        kind: 'lvm',
        session,
        sequence,
        snapshot: `${vg}/${names.paired}`,
        snapshotMtimeNs: String(nsOf(lvTimeOf(next))),
        size: next.size,
        volumeMtimeNs: '',
      });
      await state.removeDeltamap(vid);
      // .skiff1 is there only when it was paired (an unpaired one was removed above).
      if (paired) await lvm.removeLv(vg, names.paired);
      await lvm.rename(vg, names.next, names.paired);
    },
    discard: () => lvm.removeLv(vg, names.next),
  };
}
