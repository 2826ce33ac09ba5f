// delete: remove a volume and all its data. The destination steps, journaled so that an
// interrupted delete (Skiff's or Wyng's) is always completed by the next write command, are
// archive/volume-delete.ts's; here they are put in order, and this machine's state of the volume
// goes with it. ../maintain/journal.ts calls resumeDelete.

import type { VolumeId } from '../../archive/names.js';
import { journalDelete, removeVolumeData, unlistVolume } from '../../archive/volume-delete.js';
import type { Output } from '../output.js';
import type { WriteContext } from '../write-context.js';

export async function deleteVolume(ctx: WriteContext, vid: VolumeId): Promise<void> {
  await journalDelete(ctx, vid);
  await finishDelete(ctx, vid);
}

/** Completes an interrupted delete of `vid` (Skiff's or Wyng's), whatever step it stopped at. */
export async function resumeDelete(ctx: WriteContext, vid: VolumeId, out: Output): Promise<void> {
  await unlistVolume(ctx, vid);
  await finishDelete(ctx, vid);
  out.line(`Deleted volume ${vid}.`);
}

async function finishDelete(ctx: WriteContext, vid: VolumeId): Promise<void> {
  await removeVolumeData(ctx, vid);
  // This machine's pairing state of the volume means nothing any more.
  await ctx.state.removeVolume(vid);
}
