// Publishing changed volinfo files together with the archive.ini that lists them (add, rename):
// the same discipline as a send's commit (../send/commit.ts), without a session.
//
//   1. every new volinfo is written as Vol_x/volinfo.tmp, then archive.ini.tmp (the complete
//      next root, with the new hashes);
//   2. one ordered rename batch: each volinfo.tmp → volinfo, then archive.ini.tmp → archive.ini;
//   3. the .bak copies are refreshed.
//
// Until a volinfo rename, nothing visible has changed, and recovery removes the .tmp files. Once
// every volinfo is renamed, archive.ini.tmp matches what is on disk and recovery publishes it
// (../maintain/recover.ts). A crash between two volinfo renames of a multi-volume add leaves only new,
// unlisted directories: the add did not happen.

import type { VolumeId } from '../../archive/names.js';
import type { VolInfo } from '../../archive/volinfo.js';
import { publishVolInfos } from '../send/commit.js';
import type { WriteContext } from '../write-context.js';

export function commitVolInfos(ctx: WriteContext, changes: ReadonlyMap<VolumeId, VolInfo>): Promise<void> {
  return publishVolInfos(
    ctx.writer,
    [...changes].map(([vid, volinfo]) => ({ vid, volinfo })),
    { persist: () => ctx.persist() },
  );
}
