// arch-check --clean's view of the destination: what no archive object references and no
// pending operation needs. It runs inside a write command, after recovery (recovery.ts) has
// completed or rolled back interrupted writes (no journal is pending; S-tmp, volinfo.tmp,
// sessions.tmp, merge leftovers and unlisted session directories of readable volumes are already
// handled there). What it adds:
//   * Vol_* directories that archive.ini does not list (Wyng's stray volume dirs);
//   * in listed volumes: S*-tmp directories of any name, session directories volinfo does not
//     list (the same rule as recovery);
//   * in listed sessions: info.tmp and manifest.z.tmp (a Wyng send or a prune that stopped
//     before its commit);
//   * half-written files of an interrupted put (.skiff-put-*) at those levels.
// Anything a listed volume's volinfo references (its session directories and their files) stays;
// a volume whose volinfo is damaged keeps all of its session directories.

import { IntegrityError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { Archive } from './archive.js';
import { isPutLeftover, isSessionLeftover, isSessionTmpName, layout } from './layout.js';
import { isSessionName, isVolumeId, type VolumeId } from './names.js';

/**
 * The archive's top-level entries and the entries of every Vol_* directory, as paths: taken
 * before a write command's recovery, it lets --clean report what recovery removed too.
 */
export async function destinationEntries(store: Store): Promise<Set<string>> {
  const entries = new Set<string>();
  for (const name of await store.list('.')) {
    entries.add(name);
    if (isVolumeId(name) && (await store.stat(name))?.kind === 'directory') {
      for (const entry of await store.list(name)) entries.add(layout.volumeEntry(name, entry));
    }
  }
  return entries;
}

/** Removes the leftovers; returns the removed paths, in the order removed. */
export async function removeLeftovers(archive: Archive): Promise<string[]> {
  const store = archive.store;
  const removed: string[] = [];
  const remove = async (path: string) => {
    await store.removeTree(path);
    removed.push(path);
  };

  for (const name of await store.list('.')) {
    if (isPutLeftover(name)) await remove(name);
    else if (isVolumeId(name) && !archive.ini.volumes.has(name) && (await store.stat(name))?.kind === 'directory') await remove(name);
  }
  for (const vid of archive.ini.volumes.keys()) {
    if ((await store.stat(layout.volumeDir(vid)))?.kind !== 'directory') continue;
    const listed = await listedSessions(archive, vid);
    for (const entry of await store.list(layout.volumeDir(vid))) {
      const path = layout.volumeEntry(vid, entry);
      if (isSessionName(entry)) {
        if (listed === null) continue;
        if (!listed.has(entry)) await remove(path);
        else await cleanSession(store, path, remove);
      } else if (isSessionTmpName(entry) || isPutLeftover(entry)) {
        await remove(path);
      }
    }
  }
  return removed;
}

async function listedSessions(archive: Archive, vid: VolumeId): Promise<Set<string> | null> {
  try {
    return new Set((await archive.readVolInfo(vid)).sessions.keys());
  } catch (error) {
    if (error instanceof IntegrityError) return null; // keep everything of a damaged volume
    throw error;
  }
}

async function cleanSession(store: Store, dir: string, remove: (path: string) => Promise<void>): Promise<void> {
  for (const entry of await store.list(dir)) {
    if (isSessionLeftover(entry) || isPutLeftover(entry)) await remove(`${dir}/${entry}`);
  }
}
