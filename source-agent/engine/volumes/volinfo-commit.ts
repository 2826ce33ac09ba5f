// Publishing changed volinfo files together with the archive.ini that lists them (add, rename):
// the same discipline as a send's commit (../commit.ts), without a session.
//
//   1. every new volinfo is written as Vol_x/volinfo.tmp, then archive.ini.tmp (the complete
//      next root, with the new hashes);
//   2. one ordered rename batch: each volinfo.tmp → volinfo, then archive.ini.tmp → archive.ini;
//   3. the .bak copies are refreshed.
//
// Until a volinfo rename, nothing visible has changed, and recovery removes the .tmp files. Once
// every volinfo is renamed, archive.ini.tmp matches what is on disk and recovery publishes it
// (../recover.ts). A crash between two volinfo renames of a multi-volume add leaves only new,
// unlisted directories: the add did not happen.

import { layout, type VolumeId } from '../../archive/names.js';
import { formatVolInfo, type VolInfo } from '../../archive/volinfo.js';
import type { WriteContext } from '../write-context.js';

export async function commitVolInfos(ctx: WriteContext, changes: ReadonlyMap<VolumeId, VolInfo>): Promise<void> {
  const { archive, writer } = ctx;
  const store = archive.store;
  const volumes = new Map(archive.ini.volumes);
  const sealed = new Map<VolumeId, Buffer>();
  for (const [vid, volinfo] of changes) {
    const object = writer.sealMetadata(formatVolInfo(volinfo));
    await store.put(`${vid}/volinfo.tmp`, object.bytes);
    volumes.set(vid, object.hash); // an existing vid keeps its place; a new one is appended
    sealed.set(vid, object.bytes);
  }
  const root = writer.root({ ...archive.ini, volumes });
  await store.put('archive.ini.tmp', root.bytes);
  await store.renameBatch([
    ...[...changes.keys()].map((vid): [string, string] => [`${vid}/volinfo.tmp`, layout.volinfo(vid)]),
    ['archive.ini.tmp', 'archive.ini'],
  ]);
  archive.ini = root.ini;
  archive.rootBytes = root.bytes;
  for (const vid of changes.keys()) archive.forgetVolInfo(vid);
  await ctx.persist();
  await store.put('archive.ini.bak', root.bytes);
  for (const [vid, bytes] of sealed) await store.put(`${vid}/volinfo.bak`, bytes);
}
