// A volume's deletion on the destination (format spec §6.5, §13.3), journaled in archive.ini's
// [in_process] so that an interrupted delete is always completed from the destination alone.
// Skiff's order:
//   1. archive.ini without the vid in [volumes] and with [in_process] = delete, <vid> — one
//      atomic write: from here on readers no longer see the volume, and the delete will finish;
//   2. rm -rf Vol_x;
//   3. archive.ini with [in_process] cleared.
// Wyng's order writes the journal first with the vid still listed, then drops the vid, then
// clears the journal, then removes the directory. Completing either (engine/volumes/delete.ts):
//   journal set, vid still listed     → unlistVolume (journal kept), then as below;
//   journal set, vid no longer listed → removeVolumeData.

import { journalEntries } from './journal.js';
import { layout } from './layout.js';
import type { VolumeId } from './names.js';
import { installRoot, type WriteSession } from './transaction.js';

/** Step 1: the vid leaves [volumes] and the delete is journaled, in one root. */
export async function journalDelete(session: WriteSession, vid: VolumeId): Promise<void> {
  const { writer } = session;
  const archive = writer.archive;
  const volumes = new Map(archive.ini.volumes);
  volumes.delete(vid);
  await installRoot(session, writer.root({ ...archive.ini, volumes, inProcess: journalEntries({ kind: 'delete', vid }) }));
  archive.forgetVolInfo(vid);
}

/** Wyng's journaled delete that stopped with the vid still listed: drop it (the journal stays). */
export async function unlistVolume(session: WriteSession, vid: VolumeId): Promise<void> {
  const { writer } = session;
  const archive = writer.archive;
  if (!archive.ini.volumes.has(vid)) return;
  const volumes = new Map(archive.ini.volumes);
  volumes.delete(vid);
  await installRoot(session, writer.root({ ...archive.ini, volumes }));
  archive.forgetVolInfo(vid);
}

/** Steps 2 and 3: the volume's directory goes (whatever is left of it), then the journal. */
export async function removeVolumeData(session: WriteSession, vid: VolumeId): Promise<void> {
  const { writer } = session;
  const archive = writer.archive;
  await archive.store.removeTree(layout.volumeDir(vid));
  await installRoot(session, writer.root({ ...archive.ini, inProcess: [] }));
}
