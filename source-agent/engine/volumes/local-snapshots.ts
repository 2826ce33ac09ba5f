// The local side of add/rename/delete: Skiff's reflink snapshots (`sk<uuid>_<vid>.skiff1|2`,
// next to each volume under --local; source/reflink-source.ts) and their pairing in the local
// state. Only files with that exact name shape are ever touched; symbolic links are not followed.

import type { Dirent } from 'node:fs';
import * as fs from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describeError } from '../../errors.js';
import { parseSnapshotName, snapshotPaths } from '../../source/reflink-source.js';
import type { LocalState } from '../../state/local-state.js';
import type { Output } from '../output.js';

/** --local as an absolute path when it is an existing directory ("online"), else null. */
export async function onlineLocal(local: string | undefined): Promise<string | null> {
  if (local === undefined || local === '') return null;
  const stats = await fs.stat(local).catch(() => null);
  return stats?.isDirectory() ? local : null;
}

async function exists(path: string): Promise<boolean> {
  return (await fs.lstat(path).catch(() => null)) !== null;
}

async function removeFile(path: string, out: Output): Promise<boolean> {
  if (!(await exists(path))) return false;
  await fs.rm(path, { force: true });
  if (out.verbose) out.line(`Removed ${path}`);
  return true;
}

/** Every Skiff snapshot file under `root` (the whole tree, as Wyng's --clean walks it). */
export async function findSnapshots(root: string): Promise<{ path: string; uuid: string; vid: string; slot: 1 | 2 }[]> {
  const found: { path: string; uuid: string; vid: string; slot: 1 | 2 }[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return; // unreadable or vanished: nothing of ours can be in it
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        const parsed = parseSnapshotName(entry.name);
        if (parsed) found.push({ path, ...parsed });
      }
    }
  };
  await walk(root);
  return found;
}

/**
 * delete: removes the volume's snapshots — next to `name` when the name is known, anywhere
 * under --local otherwise (delete --vid of a volume whose volinfo cannot be read).
 */
export async function removeVolumeSnapshots(local: string, uuid: string, vid: string, name: string | null, out: Output): Promise<number> {
  const paths = name
    ? Object.values(snapshotPaths(join(local, name), uuid, vid))
    : (await findSnapshots(local)).filter((s) => s.uuid === uuid && s.vid === vid).map((s) => s.path);
  let removed = 0;
  for (const path of paths) if (await removeFile(path, out)) removed++;
  return removed;
}

/**
 * rename: keeps the pairing when the local volume under the new name exists (the snapshot moves
 * next to it when the directory differs; within one directory its name does not change), and
 * drops it otherwise, so the next send of the new name reads the volume whole.
 */
export async function renameVolumeSnapshots(
  request: { local: string; uuid: string; vid: string; from: string; to: string; state: LocalState },
  out: Output,
): Promise<void> {
  const { local, uuid, vid, state } = request;
  const before = snapshotPaths(join(local, request.from), uuid, vid);
  const after = snapshotPaths(join(local, request.to), uuid, vid);
  // .skiff2 is only ever a snapshot being sent: a leftover is stale.
  await removeFile(before.next, out);
  await removeFile(after.next, out);
  const recorded = await state.volume(vid);
  if (await exists(join(local, request.to))) {
    if (before.paired === after.paired) return; // same directory: same snapshot name, pairing kept
    await removeFile(after.paired, out);
    if (await exists(before.paired)) {
      try {
        await fs.rename(before.paired, after.paired);
        if (recorded) await state.saveVolume(vid, { ...recorded, snapshot: after.paired });
        if (out.verbose) out.line('Local snapshot renamed.');
        return;
      } catch (error) {
        out.warn(`Cannot move '${before.paired}' to '${dirname(after.paired)}' (${describeError(error)}); removing it.`);
      }
    }
  }
  await removeFile(before.paired, out);
  if (recorded) await state.removeVolume(vid);
}

export type Purge = 'other' | 'full' | null;

/**
 * delete --clean / --purge (behavior spec §2.6 with Skiff's names): with `archive` null (--all)
 * every Skiff snapshot goes; otherwise this archive's snapshots that are not the paired snapshot
 * of one of its volumes (all of them with purge=full), and with purge=other also every other
 * archive's. A vid whose volinfo cannot be read keeps its snapshots (their place is unknown).
 */
export async function cleanSnapshots(
  local: string,
  archive: { uuid: string; current: ReadonlySet<string>; unknownVids: ReadonlySet<string> } | null,
  purge: Purge,
  out: Output,
): Promise<number> {
  let removed = 0;
  for (const snapshot of await findSnapshots(local)) {
    const ours = archive !== null && snapshot.uuid.toLowerCase() === archive.uuid.toLowerCase();
    let remove: boolean;
    if (archive === null) remove = true;
    else if (ours) remove = purge === 'full' || (!archive.current.has(snapshot.path) && !archive.unknownVids.has(snapshot.vid));
    else remove = purge === 'other';
    if (remove && (await removeFile(snapshot.path, out))) removed++;
  }
  return removed;
}
