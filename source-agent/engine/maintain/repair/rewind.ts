// Rewinding a damaged volume to the newest session of its coherent prefix (volume-health.ts):
// the later sessions leave volinfo and their directories leave the destination.
//
// The order is the zipper of archive/transaction.ts, so an interruption leaves the old or the new state:
//   1. volinfo.tmp (without the later sessions), sessions.tmp and archive.ini.tmp are written;
//   2. one rename batch: sessions.tmp → sessions, volinfo.tmp → volinfo, archive.ini.tmp →
//      archive.ini;
//   3. .bak copies; then the dropped session directories are removed.
// Before the volinfo rename nothing visible changed (recovery removes the .tmp files). After it,
// archive.ini.tmp is complete and recovery publishes it. Once archive.ini names the new volinfo,
// dropped session directories that remain are unlisted, and recovery (archive/recovery.ts)
// removes them at the next write.

import { removeSessionDirs, Transaction } from '../../../archive/transaction.js';
import type { VolInfo } from '../../../archive/volinfo.js';
import { FatalError } from '../../../errors.js';
import type { WriteContext } from '../../write-context.js';
import type { RewindPlan } from './volume-health.js';

export async function rewindVolume(ctx: WriteContext, plan: RewindPlan): Promise<void> {
  const { archive, writer } = ctx;
  const { vid } = plan;
  if (plan.keep.length === 0) throw new Error('rewindVolume: nothing to keep');
  if (archive.ini.volumes.get(vid) !== plan.volinfoHash) {
    // Another run changed the volume after it was checked: the plan may not fit it any more.
    throw new FatalError(`Volume '${plan.name}' changed since it was checked; run arch-check again.`);
  }
  archive.forgetVolInfo(vid);
  const old = await archive.readVolInfo(vid);
  const kept = new Set<string>(plan.keep.map((s) => s.name));
  const volinfo: VolInfo = { ...old, sessions: new Map([...old.sessions].filter(([name]) => kept.has(name))) };
  const transaction = new Transaction(writer, () => ctx.persist());
  await transaction.stageVolInfo(
    vid,
    volinfo,
    plan.keep.map((k) => k.name),
  );
  await transaction.commit();
  await removeSessionDirs(archive, vid, plan.drop);
}
