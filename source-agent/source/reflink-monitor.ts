// monitor for volume files in a reflink pool: a new reflink snapshot, the extent delta since the
// paired one folded into the volume's deltamap, and rotation, so the extents only the old
// snapshot kept are freed between sends while the map keeps what changed since the newest
// session. The next send reads map ∪ its own delta (reflink-source.ts). Unlike Wyng, "ch" counts
// newly marked chunks (Wyng counts new file-system blocks for reflink volumes).

import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { foldDeltamap, lostDeltamap, markResize } from './deltamap.js';
import type { MonitorResult } from './monitor-result.js';
import { type ReflinkPool, snapshotPaths, stableDelta, takeReflinkSnapshot } from './reflink-source.js';
import { permissionsOf, type VolumeRequest } from './volume-source.js';

export type ReflinkMonitorRequest = VolumeRequest<ReflinkPool>;

export async function monitorReflinkVolume(request: ReflinkMonitorRequest): Promise<MonitorResult> {
  const { pool, name, vid, state, last, chunkSize } = request;
  if (!last) return { outcome: 'skipped', message: `  Skipping '${name}'; No data.`, failed: false };
  const volumePath = join(pool.path, name);
  const volume = await fs.stat(volumePath, { bigint: true }).catch(() => null);
  if (!volume?.isFile()) return { outcome: 'skipped', message: `  Warning: Local '${volumePath}' does not exist!`, failed: true };
  const snaps = snapshotPaths(volumePath, request.uuid, vid);
  const recorded = await state.volume(vid);
  const paired = await fs.stat(snaps.paired, { bigint: true }).catch(() => null);
  if (
    !recorded ||
    !paired ||
    recorded.kind !== undefined ||
    recorded.session !== last.name ||
    recorded.sequence !== last.sequence ||
    recorded.snapshot !== snaps.paired ||
    recorded.snapshotMtimeNs !== String(paired.mtimeNs) ||
    recorded.size !== Number(paired.size)
  ) {
    return { outcome: 'skipped', message: `  Skipping '${name}'; No paired snapshot.`, failed: true };
  }
  const permissions = permissionsOf(Number(volume.mode), Number(volume.uid), Number(volume.gid));
  if (String(volume.mtimeNs) === recorded.volumeMtimeNs && volume.size === paired.size && permissions === last.permissions)
    return { outcome: 'unchanged' };

  const next = await takeReflinkSnapshot(volumePath, snaps.next, volume);
  try {
    const oldSize = Number(paired.size);
    const newSize = Number(next.size);
    const delta = await stableDelta(snaps.paired, snaps.next, chunkSize, newSize);
    if (!delta) {
      await fs.rm(snaps.next, { force: true });
      return { outcome: 'skipped', message: `  Extents of '${name}' kept moving; try again later.`, failed: true };
    }
    // Marks past a shrink are kept (the volume may grow again before the send).
    const marks = new Uint8Array(Math.ceil(Math.max(oldSize, newSize, last.volsize) / chunkSize));
    marks.set(delta.subarray(0, marks.length));
    markResize(marks, oldSize, newSize, chunkSize);
    const folded = await foldDeltamap(state, vid, marks, recorded.deltamap === true);
    if (!folded) {
      await fs.rm(snaps.next, { force: true });
      return lostDeltamap(state, vid, name);
    }
    const { map, newlyMarked } = folded;
    if (!marks.some((m) => m !== 0) && oldSize === newSize && permissions === last.permissions) {
      await fs.rm(snaps.next, { force: true });
      return { outcome: 'unchanged' };
    }
    await state.saveDeltamap(vid, map);
    await state.saveVolume(vid, {
      session: last.name,
      sequence: last.sequence,
      snapshot: snaps.paired,
      snapshotMtimeNs: String(next.mtimeNs),
      size: newSize,
      volumeMtimeNs: String(volume.mtimeNs),
      deltamap: true,
    });
    await fs.rm(snaps.paired, { force: true });
    await fs.rename(snaps.next, snaps.paired);
    return { outcome: 'changed', newChunks: newlyMarked, freedChunks: 0, grew: newSize > oldSize };
  } catch (error) {
    await fs.rm(snaps.next, { force: true });
    throw error;
  }
}
