// Before any write: finish or clear what an interrupted Skiff write left on the destination,
// using only what is there (commit.ts describes the order that makes this possible):
// * archive.ini.tmp whose [volumes] all match the volinfo files now on disk is the root of a
//   commit that got past its volinfo rename: it is renamed into place (the commit completes);
//   any other archive.ini.tmp is removed (the commit never became visible);
// * Vol_*/S-tmp, Vol_*/volinfo.tmp and Vol_*/sessions.tmp are removed;
// * session directories that no volinfo lists (a commit interrupted after publishing its
//   directory) are removed, so their names can be used again.
// * a journaled operation ([in_process]: a prune's merge or a volume's deletion, by Skiff or by
//   Wyng) is completed or rolled back (journal.ts) before anything else.

import { type Archive, MAX_ROOT_FILE_BYTES } from '../archive/archive.js';
import type { ArchiveIni } from '../archive/archive-ini.js';
import { isSessionName, isVolumeId, type VolumeId } from '../archive/names.js';
import { IntegrityError } from '../errors.js';
import { StoreError } from '../store/store.js';
import { SESSION_TMP } from './commit.js';
import { completeJournal, parseJournal } from './journal.js';
import type { Output } from './output.js';
import type { WriteContext } from './write-context.js';

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
      out.warn('Completed an interrupted commit (archive.ini.tmp).');
    } else {
      await store.remove('archive.ini.tmp');
    }
  }
  for (const name of await store.list('.')) {
    if (!isVolumeId(name) || (await store.stat(name))?.kind !== 'directory') continue;
    await store.removeTree(`${name}/${SESSION_TMP}`);
    await store.remove(`${name}/volinfo.tmp`);
    await store.remove(`${name}/sessions.tmp`);
    await removeUnlistedSessions(archive, name);
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

async function removeUnlistedSessions(archive: Archive, vid: VolumeId): Promise<void> {
  if (!archive.ini.volumes.has(vid)) return;
  let listed: Set<string>;
  try {
    listed = new Set((await archive.readVolInfo(vid)).sessions.keys());
  } catch (error) {
    if (error instanceof IntegrityError) return; // leave a damaged volume to arch-check
    throw error;
  }
  for (const entry of await archive.store.list(vid)) {
    if (isSessionName(entry) && !listed.has(entry)) await archive.store.removeTree(`${vid}/${entry}`);
  }
}
