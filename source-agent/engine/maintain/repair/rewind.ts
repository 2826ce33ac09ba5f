// Rewinding a damaged volume to the newest session of its coherent prefix (volume-health.ts):
// the later sessions leave volinfo and their directories leave the destination.
//
// The order is the zipper of commit.ts, so an interruption leaves the old or the new state:
//   1. volinfo.tmp (without the later sessions), sessions.tmp and archive.ini.tmp are written;
//   2. one rename batch: sessions.tmp → sessions, volinfo.tmp → volinfo, archive.ini.tmp →
//      archive.ini;
//   3. .bak copies; then the dropped session directories are removed.
// Before the volinfo rename nothing visible changed (recover.ts removes the .tmp files). After it,
// archive.ini.tmp is complete and recover.ts publishes it. Once archive.ini names the new volinfo,
// dropped session directories that remain are unlisted, and recover.ts removes them at the next
// write.

import { layout } from '../../../archive/names.js';
import type { VolInfo } from '../../../archive/volinfo.js';
import { FatalError } from '../../../errors.js';
import { publishVolInfos } from '../../send/commit.js';
import type { WriteContext } from '../../write-context.js';
import type { RewindPlan } from './volume-health.js';

export async function rewindVolume(ctx: WriteContext, plan: RewindPlan): Promise<void> {
  const { archive, writer } = ctx;
  const store = archive.store;
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
  await publishVolInfos(writer, [{ vid, volinfo, sessionOrder: plan.keep.map((k) => k.name) }], { persist: () => ctx.persist() });
  for (const name of plan.drop) await store.removeTree(layout.sessionDir(vid, name));
}
