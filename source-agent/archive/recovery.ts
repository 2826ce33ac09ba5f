// Before any write: finish or clear what an interrupted write left on the destination, using
// only what is there (transaction.ts describes the order that makes this possible). A journaled
// operation ([in_process]) is completed first, by the caller (engine/maintain/journal.ts); then:
// * archive.ini.tmp whose [volumes] all match the volinfo files now on disk is the root of a
//   commit that got past its volinfo rename: it is renamed into place (the commit completes);
//   any other archive.ini.tmp is removed (the commit never became visible);
// * Vol_*/S-tmp and Vol_*/volinfo.tmp are removed; Vol_*/sessions.tmp is renamed into place
//   when it matches the volinfo (a merge that got past its archive.ini rename), else removed;
// * merge-init/, merge/ and merge.lst.gz without a journaled merge are what a finished or
//   rolled-back merge left: listed sessions found in merge-init/ move back, the rest goes;
// * session directories that no volinfo lists (a commit interrupted after publishing its
//   directory) are removed, so their names can be used again; so are volume directories that
//   archive.ini does not list and that hold no volinfo or no session (a new volume's first
//   commit that never reached archive.ini).

import { IntegrityError } from '../errors.js';
import { StoreError } from '../store/store.js';
import { type Archive, MAX_ROOT_FILE_BYTES } from './archive.js';
import { layout } from './layout.js';
import { isSessionName, isVolumeId, type VolumeId } from './names.js';
import { adoptRoot, type NewRoot, sessionsFileText, type WriteSession } from './transaction.js';

/** The bound on a sessions.tmp read back (a list of names; far above any real one). */
const MAX_SESSIONS_FILE_BYTES = 4 * 1024 * 1024;

/**
 * Publishes or removes an archive.ini.tmp an interrupted commit left. Returns true when it
 * completed the commit (the caller says so).
 */
export async function completeInterruptedCommit(session: WriteSession): Promise<boolean> {
  const archive = session.writer.archive;
  const store = archive.store;
  if (!(await store.stat(layout.rootTmp))) return false;
  const complete = await completeTmpRoot(archive);
  if (!complete) {
    await store.remove(layout.rootTmp);
    return false;
  }
  await store.renameBatch([[layout.rootTmp, layout.archiveIni]]);
  await store.put(layout.rootBak, complete.bytes);
  adoptRoot(archive, complete);
  for (const vid of complete.ini.volumes.keys()) archive.forgetVolInfo(vid);
  await session.persist();
  return true;
}

/** Clears the leftovers of interrupted writes in every volume directory. */
export async function clearVolumeLeftovers(archive: Archive): Promise<void> {
  const store = archive.store;
  for (const name of await store.list('.')) {
    if (!isVolumeId(name) || (await store.stat(name))?.kind !== 'directory') continue;
    if (archive.ini.volumes.has(name)) await cleanVolumeDir(archive, name);
    else await removeAbandonedVolumeDir(archive, name);
  }
}

/**
 * A volume directory archive.ini does not list is the start of a volume whose first commit
 * (send or add) never reached archive.ini: no volinfo yet, or a volinfo but no session. Such a
 * directory is removed. One with both (data of a volume the root no longer lists) is left for
 * `arch-check --clean`, which removes it on request.
 */
async function removeAbandonedVolumeDir(archive: Archive, vid: VolumeId): Promise<void> {
  const entries = await archive.store.list(layout.volumeDir(vid));
  const hasVolinfo = entries.some((e) => layout.volumeEntry(vid, e) === layout.volinfo(vid));
  if (!hasVolinfo || !entries.some((e) => isSessionName(e))) await archive.store.removeTree(layout.volumeDir(vid));
}

/** Leftovers of interrupted writes inside one volume directory (only what is there is touched). */
async function cleanVolumeDir(archive: Archive, vid: VolumeId): Promise<void> {
  const store = archive.store;
  const entries = await store.list(layout.volumeDir(vid));
  // Compared as paths, so that every name is layout.ts's.
  const present = new Set(entries.map((entry) => layout.volumeEntry(vid, entry)));
  const has = (path: string) => present.has(path);
  if (has(layout.sessionTmpDir(vid))) await store.removeTree(layout.sessionTmpDir(vid));
  if (has(layout.volinfoTmp(vid))) await store.remove(layout.volinfoTmp(vid));
  const listed = await listedSessions(archive, vid);
  if (has(layout.sessionsTmp(vid))) {
    // Wyng's merge renames archive.ini before sessions: a crash between leaves the right list here.
    const text = (await store.read(layout.sessionsTmp(vid), MAX_SESSIONS_FILE_BYTES).catch(() => Buffer.alloc(0))).toString('utf8');
    if (listed && text === sessionsFileText(await sessionOrder(archive, vid)))
      await store.renameBatch([[layout.sessionsTmp(vid), layout.sessionsFile(vid)]]);
    else await store.remove(layout.sessionsTmp(vid));
  }
  if (has(layout.mergeInitDir(vid)) && listed) {
    // A merge rolled back or finished by another program, with sessions left inside: move back
    // those the volinfo lists.
    const back: (readonly [string, string])[] = [];
    for (const entry of await store.list(layout.mergeInitDir(vid))) {
      if (isSessionName(entry) && listed.names.has(entry) && !has(layout.sessionDir(vid, entry)))
        back.push([layout.mergeInitEntry(vid, entry), layout.sessionDir(vid, entry)]);
    }
    await store.renameBatch(back);
    await store.removeTree(layout.mergeInitDir(vid));
  }
  // With no merge journaled, merge/ holds only what a finished merge superseded.
  if (has(layout.mergeDir(vid)) && listed) await store.removeTree(layout.mergeDir(vid));
  if (has(layout.mergeList(vid))) await store.remove(layout.mergeList(vid));
  if (!listed) return;
  for (const entry of entries) {
    if (isSessionName(entry) && !listed.names.has(entry)) await store.removeTree(layout.sessionDir(vid, entry));
  }
}

/** The sessions the volume's volinfo lists, or null when unknown or unreadable. */
async function listedSessions(archive: Archive, vid: VolumeId): Promise<{ names: Set<string> } | null> {
  if (!archive.ini.volumes.has(vid)) return null;
  try {
    return { names: new Set((await archive.readVolInfo(vid)).sessions.keys()) };
  } catch (error) {
    if (error instanceof IntegrityError) return null; // leave a damaged volume to arch-check
    throw error;
  }
}

async function sessionOrder(archive: Archive, vid: VolumeId): Promise<string[]> {
  try {
    return (await archive.loadVolume(vid)).sessions.map((s) => s.name);
  } catch (error) {
    if (error instanceof IntegrityError) return [];
    throw error;
  }
}

/**
 * archive.ini.tmp, when it authenticates, is newer than archive.ini, and every volinfo on disk
 * matches it (the commit got past its volinfo rename); otherwise null.
 */
async function completeTmpRoot(archive: Archive): Promise<NewRoot | null> {
  let root: NewRoot;
  try {
    const bytes = await archive.store.read(layout.rootTmp, MAX_ROOT_FILE_BYTES);
    root = { bytes, ini: archive.decodeRoot(bytes, layout.rootTmp) };
  } catch (error) {
    if (error instanceof IntegrityError || error instanceof StoreError) return null;
    throw error;
  }
  const { ini } = root;
  if (ini.uuid !== archive.ini.uuid || Number(ini.updatedAt) <= Number(archive.ini.updatedAt) || ini.inProcess.length > 0) return null;
  for (const [vid, hash] of ini.volumes) {
    if (archive.ini.volumes.get(vid) === hash) continue;
    if (!(await archive.volInfoMatches(vid, hash))) return null;
  }
  return root;
}
