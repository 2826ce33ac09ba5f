// A volume file in a reflink pool and its paired snapshot `sk<uuid>_<vid>.skiff1`, seen from
// receive (behavior spec §2.5 "paired state", §5.2 last point, §5.4):
// * usableSnapshot: the snapshot still holds the archive's newest session exactly as send
//   recorded it (state "Y": same session and sequence, same file, mtime and size, and no
//   monitor changes pending — a deltamap means the snapshot is newer than the session, "D"), so
//   --use-snapshot may start from it instead of transferring chunks.
// * repairReflinkVolume: after the newest session was received into the pool, a new read-only
//   reflink snapshot of the received file and the pairing record make the next send
//   incremental: it compares extent maps against this snapshot rather than reading everything.

import * as fs from 'node:fs/promises';
import type { SessionRecord } from '../../archive/archive.js';
import { snapshotPaths, takeReflinkSnapshot } from '../../source/reflink-source.js';
import type { LocalState } from '../../state/local-state.js';

export interface ReflinkVolume {
  /** `<local>/<name>`. */
  volumePath: string;
  uuid: string;
  vid: string;
  state: LocalState;
}

/** The paired snapshot's path when it holds `newest` as recorded (paired state "Y"), else null. */
export async function usableSnapshot(volume: ReflinkVolume, newest: SessionRecord): Promise<string | null> {
  const { paired } = snapshotPaths(volume.volumePath, volume.uuid, volume.vid);
  const recorded = await volume.state.volume(volume.vid);
  if (!recorded || recorded.kind !== undefined || recorded.deltamap) return null;
  if (recorded.session !== newest.name || recorded.sequence !== newest.info.sequence || recorded.snapshot !== paired) return null;
  const stats = await fs.stat(paired, { bigint: true }).catch(() => null);
  if (!stats?.isFile() || String(stats.mtimeNs) !== recorded.snapshotMtimeNs || Number(stats.size) !== recorded.size) return null;
  return paired;
}

/** Pairs the received file with `session` (the volume's newest): a fresh `.skiff1` and its record. */
export async function repairReflinkVolume(volume: ReflinkVolume, session: SessionRecord): Promise<void> {
  const { volumePath, vid, state } = volume;
  const snaps = snapshotPaths(volumePath, volume.uuid, vid);
  // Forget the old pairing first: a failure below leaves the volume unpaired (a full scan), never
  // paired with a snapshot that does not hold the session.
  await state.removeVolume(vid);
  await fs.rm(snaps.next, { force: true });
  const stats = await fs.stat(volumePath, { bigint: true });
  const snapshot = await takeReflinkSnapshot(volumePath, snaps.paired, stats);
  await state.saveVolume(vid, {
    session: session.name,
    sequence: session.info.sequence,
    snapshot: snaps.paired,
    snapshotMtimeNs: String(snapshot.mtimeNs),
    size: Number(snapshot.size),
    volumeMtimeNs: String(stats.mtimeNs),
  });
}

/** After "Snapshot retrieved.": the pairing stands; the new file's mtime is what send compares with. */
export async function keepReflinkPairing(volume: ReflinkVolume): Promise<void> {
  const recorded = await volume.state.volume(volume.vid);
  if (!recorded) return;
  const stats = await fs.stat(volume.volumePath, { bigint: true });
  await volume.state.saveVolume(volume.vid, { ...recorded, volumeMtimeNs: String(stats.mtimeNs) });
}
