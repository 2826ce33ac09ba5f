// Publishing changed volinfo files together with the archive.ini that lists them (add, rename):
// the zipper of a send's commit (archive/transaction.ts), without a session. A crash between two
// volinfo renames of a multi-volume add leaves only new, unlisted directories: the add did not
// happen (the next write's recovery removes them).

import type { VolumeId } from '../../archive/names.js';
import { Transaction } from '../../archive/transaction.js';
import type { VolInfo } from '../../archive/volinfo.js';
import type { WriteContext } from '../write-context.js';

export async function commitVolInfos(ctx: WriteContext, changes: ReadonlyMap<VolumeId, VolInfo>): Promise<void> {
  const transaction = new Transaction(ctx.writer, () => ctx.persist());
  for (const [vid, volinfo] of changes) await transaction.stageVolInfo(vid, volinfo);
  await transaction.commit();
}
