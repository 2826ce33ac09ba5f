// What `diff` compares with the archive: a readable path and its size. Wyng (behavior spec §5.6)
// compares the volume's paired snapshot when there is one — the state the newest session was
// sent from — and the live volume only when no snapshot exists. This file finds that path for
// volumes that are files under --local (reflink pools, plain directories); an LVM pool resolves
// its own path (a snapshot LV or the volume's device node) and hands diff the same two facts.

import type { BigIntStats } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import type { VolumeState } from '../state/local-state.js';
import { blockDeviceBytes } from '../sys/block-device.js';
import { snapshotPaths } from './reflink-source.js';

/** A volume's bytes as they are on this machine: what diff reads. */
export interface LocalVolumeView {
  readonly path: string;
  readonly size: number;
}

/** Which of Wyng's three diff targets was chosen (§5.6), with the line Wyng prints for it. */
export type DiffTargetKind = 'paired' | 'unpaired' | 'volume';

export const DIFF_TARGET_NOTES: Record<DiffTargetKind, string | null> = {
  paired: null,
  unpaired: '\nSnapshot is not paired:',
  volume: '\nSnapshot not available; Comparing with source volume instead:',
};

export type DiffTarget = { kind: DiffTargetKind; view: LocalVolumeView } | { missing: string };

/** The archive's newest session of the volume, as pairing needs it. */
export interface NewestSession {
  name: string;
  sequence: number;
}

/**
 * Whether the snapshot `snapshotPath` (with `stats`) still holds the newest session: send
 * recorded it after that session and nothing has touched it since (same mtime and size).
 */
export function holdsNewestSession(recorded: VolumeState | null, newest: NewestSession, snapshotPath: string, stats: BigIntStats): boolean {
  return (
    recorded !== null &&
    recorded.session === newest.name &&
    recorded.sequence === newest.sequence &&
    recorded.snapshot === snapshotPath &&
    String(stats.mtimeNs) === recorded.snapshotMtimeNs &&
    Number(stats.size) === recorded.size
  );
}

function sizeOf(stats: BigIntStats): number {
  return stats.isBlockDevice() ? blockDeviceBytes(Number(stats.rdev)) : Number(stats.size);
}

/** Finds what diff compares for volume `name` (id `vid`) of archive `uuid` under directory `local`. */
export async function fileDiffTarget(
  local: string,
  name: string,
  ids: { uuid: string; vid: string },
  recorded: VolumeState | null,
  newest: NewestSession,
): Promise<DiffTarget> {
  const volumePath = join(local, name);
  const volume = await fs.stat(volumePath, { bigint: true }).catch(() => null);
  if (!volume || !(volume.isFile() || volume.isBlockDevice())) return { missing: `${name}: Local volume does not exist.` };
  const snapshot = snapshotPaths(volumePath, ids.uuid, ids.vid).paired;
  const snap = await fs.stat(snapshot, { bigint: true }).catch(() => null);
  if (snap?.isFile()) {
    const kind = holdsNewestSession(recorded, newest, snapshot, snap) ? 'paired' : 'unpaired';
    return { kind, view: { path: snapshot, size: sizeOf(snap) } };
  }
  return { kind: 'volume', view: { path: volumePath, size: sizeOf(volume) } };
}
