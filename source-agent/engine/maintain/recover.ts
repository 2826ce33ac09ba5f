// Before any write: finish or clear what an interrupted Skiff write left on the destination,
// using only what is there (commit.ts describes the order that makes this possible):
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
// * a journaled operation ([in_process]: a prune's merge or a volume's deletion, by Skiff or by
//   Wyng) is completed or rolled back (journal.ts) before anything else.

import { type Archive, MAX_ROOT_FILE_BYTES } from '../../archive/archive.js';
import type { ArchiveIni } from '../../archive/archive-ini.js';
import { isSessionName, isVolumeId, type VolumeId } from '../../archive/names.js';
import { IntegrityError } from '../../errors.js';
import { StoreError } from '../../store/store.js';
import type { Output } from '../output.js';
import { SESSION_TMP, sessionsFileText } from '../send/commit.js';
import type { WriteContext } from '../write-context.js';
import { completeJournal, parseJournal } from './journal.js';

export async function recoverInterruptedWrites(ctx: WriteContext, out: Output): Promise<void> {
  const { archive } = ctx;
  const journal = parseJournal(archive.ini);
  if (journal) await completeJournal(ctx, journal, out);
  const store = archive.store;
  if (await store.stat('archive.ini.tmp')) {
    const complete = await completeTmpRoot(archive);
    if (complete) {
      await store.renameBatch([['archive.ini.tmp', 'archive.ini']]);
      await store.put('archive.ini.bak', complete.bytes);
      archive.ini = complete.ini;
      archive.rootBytes = complete.bytes;
      for (const vid of complete.ini.volumes.keys()) archive.forgetVolInfo(vid);
      await ctx.persist();
      out.warn('Completed an interrupted commit (archive.ini.tmp).');
    } else {
      await store.remove('archive.ini.tmp');
    }
  }
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
  const entries = await archive.store.list(vid);
  if (!entries.includes('volinfo') || !entries.some((e) => isSessionName(e))) await archive.store.removeTree(vid);
}

/** Leftovers of interrupted writes inside one volume directory (only what is there is touched). */
async function cleanVolumeDir(archive: Archive, vid: VolumeId): Promise<void> {
  const store = archive.store;
  const entries = new Set(await store.list(vid));
  if (entries.has(SESSION_TMP)) await store.removeTree(`${vid}/${SESSION_TMP}`);
  if (entries.has('volinfo.tmp')) await store.remove(`${vid}/volinfo.tmp`);
  const listed = await listedSessions(archive, vid);
  if (entries.has('sessions.tmp')) {
    // Wyng's merge renames archive.ini before sessions: a crash between leaves the right list here.
    const text = (await store.read(`${vid}/sessions.tmp`, 4 * 1024 * 1024).catch(() => Buffer.alloc(0))).toString('utf8');
    if (listed && text === sessionsFileText(await sessionOrder(archive, vid)))
      await store.renameBatch([[`${vid}/sessions.tmp`, `${vid}/sessions`]]);
    else await store.remove(`${vid}/sessions.tmp`);
  }
  if (entries.has('merge-init') && listed) {
    // A merge rolled back or finished by another program, with sessions left inside: move back
    // those the volinfo lists.
    const back: (readonly [string, string])[] = [];
    for (const entry of await store.list(`${vid}/merge-init`)) {
      if (isSessionName(entry) && listed.names.has(entry) && !entries.has(entry))
        back.push([`${vid}/merge-init/${entry}`, `${vid}/${entry}`]);
    }
    await store.renameBatch(back);
    await store.removeTree(`${vid}/merge-init`);
  }
  // With no merge journaled, merge/ holds only what a finished merge superseded.
  if (entries.has('merge') && listed) await store.removeTree(`${vid}/merge`);
  if (entries.has('merge.lst.gz')) await store.remove(`${vid}/merge.lst.gz`);
  if (!listed) return;
  for (const entry of entries) {
    if (isSessionName(entry) && !listed.names.has(entry)) await store.removeTree(`${vid}/${entry}`);
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
async function completeTmpRoot(archive: Archive): Promise<{ bytes: Buffer; ini: ArchiveIni } | null> {
  let bytes: Buffer;
  let ini: ArchiveIni;
  try {
    bytes = await archive.store.read('archive.ini.tmp', MAX_ROOT_FILE_BYTES);
    ini = archive.decodeRoot(bytes, 'archive.ini.tmp');
  } catch (error) {
    if (error instanceof IntegrityError || error instanceof StoreError) return null;
    throw error;
  }
  if (ini.uuid !== archive.ini.uuid || Number(ini.updatedAt) <= Number(archive.ini.updatedAt) || ini.inProcess.length > 0) return null;
  for (const [vid, hash] of ini.volumes) {
    if (archive.ini.volumes.get(vid) === hash) continue;
    if (!(await archive.volInfoMatches(vid, hash))) return null;
  }
  return { bytes, ini };
}
