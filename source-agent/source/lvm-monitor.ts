// monitor for thin LVs: take a new snapshot (tagged `delta`), fold thin_delta's changes since the
// paired snapshot into the volume's deltamap, and rotate, so the old snapshot's pool space is
// released between sends while the map keeps what changed since the newest session. The next
// send reads map ∪ its own delta (lvm-source.ts).
//
// Order, so that a crash never leaves a pairing that hides changes: the map is written first (a
// superset is harmless), then the new pairing is recorded, then the old snapshot removed and the
// new one renamed; a crash in between leaves a recorded time that no .skiff1 has → a full read.
//
// Two steps, so that one metadata-snapshot reservation serves every volume of the pool
// (delta-batch.ts): startLvmMonitor takes the snapshot and registers the delta; after the run's
// batch acquired the deltas, finish() folds and rotates.

import { VolumeFailure } from '../errors.js';
import { foldDeltamap, lostDeltamap } from './deltamap.js';
import type { LvmDeltaBatch } from './lvm/delta-batch.js';
import { lvTimeOf } from './lvm/lvm-commands.js';
import { changedBytes, type LvmDelta } from './lvm/lvm-delta.js';
import type { LvmPool } from './lvm/lvm-pool.js';
import { deltaTimeTag } from './lvm/snapshot-names.js';
import { deltaBetween, inspectLvmVolume, isPaired, lvPermissions, nsOf, removeIfPresent, takeSnapshot } from './lvm-source.js';
import type { MonitorResult } from './monitor-result.js';
import type { VolumeRequest } from './volume-source.js';

export interface LvmMonitorRequest extends VolumeRequest<LvmPool> {
  batch: LvmDeltaBatch;
  signal?: AbortSignal;
  note: (text: string) => void;
}

/** A volume whose snapshot is taken and whose delta is registered with the batch. */
export interface PendingLvmMonitor {
  /** After the batch's acquire(): fold the delta into the deltamap and rotate. */
  finish(): Promise<MonitorResult>;
  /** The run ends before finish(): remove the new snapshot. */
  discard(): Promise<void>;
}

export async function startLvmMonitor(request: LvmMonitorRequest): Promise<MonitorResult | PendingLvmMonitor> {
  const { pool, name, vid, state, last, chunkSize } = request;
  const { lvm, vg } = pool;
  if (!last) return { outcome: 'skipped', message: `  Skipping '${name}'; No data.`, failed: false };
  let slots: Awaited<ReturnType<typeof inspectLvmVolume>>;
  try {
    slots = await inspectLvmVolume({ ...request, remap: false });
  } catch (error) {
    if (error instanceof VolumeFailure) return { outcome: 'skipped', message: `  ${error.message}`, failed: true };
    throw error;
  }
  const recorded = await state.volume(vid);
  const { names } = slots;
  if (!isPaired(vg, names, slots.paired, recorded, last) || !recorded) {
    // As in Wyng, not an error for LVM: the next send reads the volume whole.
    return { outcome: 'skipped', message: `  Skipping '${name}'; No paired snapshot.`, failed: false };
  }
  const paired = slots.paired;
  if (!paired || paired.thinId === null) throw new Error('paired snapshot without a thin id');
  const next = await takeSnapshot(pool, slots, request.uuid, true);
  let delta: LvmDelta | null = null;
  request.batch.add(pool, deltaBetween(paired, next, chunkSize, request.signal), async (d) => {
    delta = d;
  });
  const discard = () => removeIfPresent(pool, names.next).catch(() => {});
  const finish = async (): Promise<MonitorResult> => {
    if (!delta) throw new Error('monitor finished before its delta was acquired');
    const { ranges, freedBytes } = delta;
    // Marks past a shrink are kept (the volume may grow again before the send).
    const marks = changedBytes(ranges, Math.max(paired.size, next.size, last.volsize), chunkSize);
    const folded = await foldDeltamap(state, vid, marks, recorded.deltamap === true);
    if (!folded) {
      await lvm.removeLv(vg, names.next);
      return lostDeltamap(state, vid, name);
    }
    const { map, newlyMarked } = folded;
    const changed = ranges.length > 0 || next.size !== paired.size || lvPermissions(slots.origin) !== last.permissions || freedBytes > 0;
    if (!changed) {
      await lvm.removeLv(vg, names.next);
      return { outcome: 'unchanged' };
    }
    await state.saveDeltamap(vid, map);
    await lvm.changeTags(vg, names.next, [last.name, deltaTimeTag(nsOf(lvTimeOf(next)))]);
    await state.saveVolume(vid, {
      kind: 'lvm',
      session: last.name,
      sequence: last.sequence,
      snapshot: `${vg}/${names.paired}`,
      snapshotMtimeNs: String(nsOf(lvTimeOf(next))),
      size: next.size,
      volumeMtimeNs: '',
      deltamap: true,
    });
    await lvm.removeLv(vg, names.paired);
    await lvm.rename(vg, names.next, names.paired);
    return {
      outcome: 'changed',
      newChunks: newlyMarked,
      freedChunks: Math.floor(freedBytes / chunkSize),
      grew: next.size > paired.size,
    };
  };
  return {
    async finish() {
      try {
        return await finish();
      } catch (error) {
        await discard();
        throw error;
      }
    },
    discard,
  };
}
