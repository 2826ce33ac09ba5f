// Volumes that are files in a reflink-capable file system (Btrfs; XFS with --vouch): send works
// from read-only reflink snapshots kept next to each volume, and finds what changed since the
// last send by comparing the extent maps of the previous and the new snapshot (extent-map.ts).
//
// Snapshot names embed the archive uuid and volume id — `sk<uuid>_<vid>.skiff1` (paired with the
// newest session) and `.skiff2` (being sent) — so they never collide with Wyng's `sn…wyng1`, and
// several archives can track one volume.

import { type BigIntStats, constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError, LocalStorageError, VolumeFailure } from '../errors.js';
import { itemAt } from '../lookup.js';
import type { VolumeState } from '../state/local-state.js';
import { execFileCapture } from '../sys/exec.js';
import { frozenDelta } from './btrfs-frozen-scan.js';
import { markResize, withDeltamap } from './deltamap.js';
import { changedChunks, type ExtentMap, parseFilefrag } from './extent-map.js';
import { isNocow, prepareNocowVolume } from './nocow-source.js';
import { type PreparedVolume, permissionsOf, type VolumeRequest } from './volume-source.js';

const BTRFS_MAGIC = 0x9123683e;
const FS_NAMES: Record<number, string> = { [BTRFS_MAGIC]: 'btrfs', [0x58465342]: 'xfs', [0xef53]: 'ext4', [0x01021994]: 'tmpfs' };

export interface ReflinkPool {
  readonly path: string;
  readonly fsType: string;
  /** Session tags this pool adds (Wyng: "wyng_<fstype>_factors" for vouched file systems). */
  readonly tags: string[];
}

/**
 * Checks that --local can hold reflink snapshots: a Btrfs subvolume, or a file system vouched for
 * with --vouch=reflink_fs_<type> and --vouch=fs_online_factors (as in Wyng), that can clone.
 */
export async function openReflinkPool(local: string, vouch: readonly string[]): Promise<ReflinkPool> {
  let stats: import('node:fs').Stats;
  let fsType: string;
  try {
    stats = await fs.stat(local);
    const statfs = await fs.statfs(local);
    fsType = FS_NAMES[statfs.type] ?? `0x${statfs.type.toString(16)}`;
  } catch (error) {
    throw new LocalStorageError(`Local path not found: '${local}' (${describeError(error)})`);
  }
  if (!stats.isDirectory()) throw new LocalStorageError(`--local '${local}' is not a directory.`);
  const tags: string[] = [];
  if (fsType === 'btrfs') {
    if (stats.ino !== 256) throw new LocalStorageError(`Local not a subvolume or no snapshot feature: (${fsType}) ${local}`);
  } else if (vouch.includes(`reflink_fs_${fsType}`)) {
    if (!vouch.includes('fs_online_factors')) {
      throw new LocalStorageError(`--vouch=reflink_fs_${fsType} also needs --vouch=fs_online_factors (as in Wyng).`);
    }
    tags.push(`wyng_${fsType}_factors`);
  } else {
    throw new LocalStorageError(`Local not a subvolume or no snapshot feature: (${fsType}) ${local}`);
  }
  const probe = join(local, `.skiff-reflink-probe-${process.pid}`);
  try {
    await fs.writeFile(probe, 'probe');
    await fs.copyFile(probe, `${probe}.clone`, constants.COPYFILE_FICLONE_FORCE);
  } catch (error) {
    throw new LocalStorageError(`'${local}' (${fsType}) cannot make reflink copies: ${describeError(error)}`);
  } finally {
    await fs.rm(probe, { force: true });
    await fs.rm(`${probe}.clone`, { force: true });
  }
  return { path: local, fsType, tags };
}

export function snapshotPaths(volumePath: string, uuid: string, vid: string): { paired: string; next: string } {
  const base = join(dirname(volumePath), `sk${uuid}_${vid}`);
  return { paired: `${base}.skiff1`, next: `${base}.skiff2` };
}

/** The archive uuid and vid a snapshot file name (`sk<uuid>_<vid>.skiff1|2`) belongs to, or null. */
export function parseSnapshotName(fileName: string): { uuid: string; vid: string; slot: 1 | 2 } | null {
  const m = /^sk([0-9a-fA-F]+(?:-[0-9a-fA-F]+)+)_(Vol_[0-9a-fA-F]+)\.skiff([12])$/.exec(fileName);
  return m ? { uuid: itemAt(m, 1), vid: itemAt(m, 2), slot: m[3] === '1' ? 1 : 2 } : null;
}

/** Extent maps, read twice for the old snapshot to catch a relocation between the reads. */
async function extentMap(path: string): Promise<ExtentMap> {
  const { stdout } = await execFileCapture(['filefrag', '-v', '-s', path], { maxOutput: 512 * 1024 * 1024 });
  return parseFilefrag(stdout.toString('utf8'));
}

export async function stableDelta(oldPath: string, newPath: string, chunkSize: number, newSize: number): Promise<Uint8Array | null> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = await extentMap(oldPath);
    const after = await extentMap(newPath);
    const again = await extentMap(oldPath);
    if (
      JSON.stringify(before.extents.map((e) => [e.logical, e.physical, e.length])) ===
      JSON.stringify(again.extents.map((e) => [e.logical, e.physical, e.length]))
    ) {
      return changedChunks(before, after, chunkSize, newSize);
    }
    // The file system moved extents while we read (balance, defrag): try again shortly.
    await sleep(1000 * 2 ** attempt);
  }
  return null;
}

/** A read-only reflink copy of the volume at `snapshot` (replacing a stale one), with the volume's times. */
export async function takeReflinkSnapshot(volumePath: string, snapshot: string, volume: BigIntStats): Promise<BigIntStats> {
  await fs.rm(snapshot, { force: true });
  try {
    await fs.copyFile(volumePath, snapshot, constants.COPYFILE_FICLONE_FORCE);
    // The snapshot keeps the volume's time (as cp -p would) and is made read-only.
    await fs.utimes(snapshot, volume.atime, volume.mtime);
    await fs.chmod(snapshot, Number(volume.mode) & 0o555);
  } catch (error) {
    await fs.rm(snapshot, { force: true });
    throw new LocalStorageError(`Cannot snapshot '${volumePath}': ${describeError(error)}`);
  }
  return fs.stat(snapshot, { bigint: true });
}

export interface ReflinkVolumeRequest extends VolumeRequest<ReflinkPool> {
  /** Note for the user ("Queuing full scan of …"). */
  note: (text: string) => void;
}

async function statOrNull(path: string): Promise<BigIntStats | null> {
  return fs.stat(path, { bigint: true }).catch(() => null);
}

export async function prepareReflinkVolume(request: ReflinkVolumeRequest): Promise<PreparedVolume> {
  const { pool, name, vid, state, last } = request;
  const volumePath = join(pool.path, name);
  const volume = await fs.stat(volumePath, { bigint: true }).catch(() => null);
  if (!volume) throw new VolumeFailure(`Local '${volumePath}' does not exist!`);
  if (!volume.isFile()) throw new VolumeFailure(`'${volumePath}' is not a regular file (use --import-other-from for block devices).`);
  if (await isNocow(volumePath)) {
    request.note(`  Queuing full scan of nocow '${name}'`);
    return prepareNocowVolume({ volumePath, snapshots: snapshotPaths(volumePath, request.uuid, vid) });
  }
  const permissions = permissionsOf(Number(volume.mode), Number(volume.uid), Number(volume.gid));
  const snaps = snapshotPaths(volumePath, request.uuid, vid);
  const recorded: VolumeState | null = await state.volume(vid);
  const paired = await statOrNull(snaps.paired);
  const isPaired =
    last !== null &&
    recorded !== null &&
    paired !== null &&
    recorded.session === last.name &&
    recorded.sequence === last.sequence &&
    recorded.snapshot === snaps.paired &&
    String(paired.mtimeNs) === recorded.snapshotMtimeNs &&
    Number(paired.size) === recorded.size;

  const keepPairing = async (session: string, sequence: number, snapshot: BigIntStats, volumeMtimeNs: bigint) => {
    await state.saveVolume(vid, {
      session,
      sequence,
      snapshot: snaps.paired,
      snapshotMtimeNs: String(snapshot.mtimeNs),
      size: Number(snapshot.size),
      volumeMtimeNs: String(volumeMtimeNs),
    });
    // The changes monitor folded in are in the archive now.
    if (recorded?.deltamap) await state.removeDeltamap(vid);
  };

  // Wyng's shortcut: the volume has the mtime and size it had when the paired snapshot was taken,
  // and the newest session's permissions → no change, no snapshot, no scan.
  const untouched = String(volume.mtimeNs) === recorded?.volumeMtimeNs && volume.size === paired?.size;
  if (isPaired && paired && untouched && permissions === last?.permissions) {
    // Monitor rotated the changes since the session into the paired snapshot and the deltamap:
    // send them from it (Wyng: a dirty map is sent even when the volume is untouched).
    const map = recorded?.deltamap ? await state.deltamap(vid, Math.ceil(Number(paired.size) / request.chunkSize)) : null;
    if (map) {
      return {
        path: snaps.paired,
        size: Number(paired.size),
        mtimeNs: volume.mtimeNs,
        permissions,
        changed: map,
        unchanged: false,
        alwaysSession: false,
        commit: (session, sequence) => keepPairing(session, sequence, paired, volume.mtimeNs),
        discard: async () => {},
      };
    }
    return {
      path: snaps.paired,
      size: Number(volume.size),
      mtimeNs: volume.mtimeNs,
      permissions,
      changed: new Uint8Array(Math.ceil(Number(volume.size) / request.chunkSize)),
      unchanged: true,
      alwaysSession: false,
      commit: (session, sequence) => keepPairing(session, sequence, paired, volume.mtimeNs),
      discard: async () => {},
    };
  }

  const next = await takeReflinkSnapshot(volumePath, snaps.next, volume);
  const size = Number(next.size);

  let changed: Uint8Array | null = null;
  if (isPaired) {
    changed =
      pool.fsType === 'btrfs'
        ? await frozenDelta(pool.path, snaps, request.chunkSize, size, request.note)
        : await stableDelta(snaps.paired, snaps.next, request.chunkSize, size);
    if (!changed) request.note(`  Extents of '${name}' could not be compared; reading the whole volume.`);
    // Monitor's accumulated changes since the session; a map recorded but gone: read everything.
    else if (recorded?.deltamap) {
      markResize(changed, Number(paired?.size ?? 0), size, request.chunkSize);
      changed = await withDeltamap(state, vid, changed);
    }
  } else {
    request.note(`  Queuing full scan of '${name}'`);
  }

  return {
    path: snaps.next,
    size,
    mtimeNs: volume.mtimeNs,
    permissions,
    changed,
    unchanged: false,
    alwaysSession: false,
    async commit(session, sequence) {
      await fs.rm(snaps.paired, { force: true });
      await fs.rename(snaps.next, snaps.paired);
      await keepPairing(session, sequence, await fs.stat(snaps.paired, { bigint: true }), volume.mtimeNs);
    },
    discard: () => fs.rm(snaps.next, { force: true }),
  };
}
