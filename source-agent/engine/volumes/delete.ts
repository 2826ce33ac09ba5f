// delete: remove a volume and all its data, journaled in archive.ini's [in_process] (format
// spec §6.5, §13.3) so that an interrupted delete is always completed, from the destination
// alone, by the next write command (../maintain/journal.ts calls resumeDelete).
//
// Skiff's order:
//   1. archive.ini without the vid in [volumes] and with [in_process] = delete, <vid> — one
//      atomic write: from here on readers no longer see the volume, and the delete will finish;
//   2. rm -rf Vol_x;
//   3. archive.ini with [in_process] cleared.
// Wyng's order writes the journal first with the vid still listed, then drops the vid, then
// clears the journal, then removes the directory. resumeDelete completes every state either
// program can leave behind:
//   journal set, vid still listed     → drop the vid (journal kept), then as below;
//   journal set, vid no longer listed → remove Vol_x (whatever is left of it), clear the journal.

import { layout, type VolumeId } from '../../archive/names.js';
// biome-ignore lint/suspicious/noImportCycles: known circle journal ↔ prune/merge-apply, volumes/delete (issue 13 item 1 moves the journal codec into archive/ and breaks it)
import { journalEntries } from '../maintain/journal.js';
import type { Output } from '../output.js';
import { installRoot, type WriteContext } from '../write-context.js';

export async function deleteVolume(ctx: WriteContext, vid: VolumeId): Promise<void> {
  const { archive, writer } = ctx;
  const volumes = new Map(archive.ini.volumes);
  volumes.delete(vid);
  await installRoot(ctx, writer.root({ ...archive.ini, volumes, inProcess: journalEntries({ kind: 'delete', vid }) }));
  archive.forgetVolInfo(vid);
  await finishDelete(ctx, vid);
}

/** Completes an interrupted delete of `vid` (Skiff's or Wyng's), whatever step it stopped at. */
export async function resumeDelete(ctx: WriteContext, vid: VolumeId, out: Output): Promise<void> {
  const { archive, writer } = ctx;
  if (archive.ini.volumes.has(vid)) {
    const volumes = new Map(archive.ini.volumes);
    volumes.delete(vid);
    await installRoot(ctx, writer.root({ ...archive.ini, volumes }));
    archive.forgetVolInfo(vid);
  }
  await finishDelete(ctx, vid);
  out.line(`Deleted volume ${vid}.`);
}

async function finishDelete(ctx: WriteContext, vid: VolumeId): Promise<void> {
  const { archive, writer } = ctx;
  await archive.store.removeTree(layout.volumeDir(vid));
  await installRoot(ctx, writer.root({ ...archive.ini, inProcess: [] }));
  // This machine's pairing state of the volume means nothing any more.
  await ctx.state.removeVolume(vid);
}
