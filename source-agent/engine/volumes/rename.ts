// rename OLD NEW: only the volinfo changes (name, and the description when one is given); the
// vid and the session directories stay. Published like add (volinfo-commit.ts).

import { type VolumeId, volumeNameProblem } from '../../archive/names.js';
import { FatalError, IntegrityError } from '../../errors.js';
import { buildVolumeIndex } from '../select/volume-index.js';
import type { WriteContext } from '../write-context.js';
import { commitVolInfos } from './volinfo-commit.js';

export interface RenameRequest {
  from: string;
  to: string;
  /** The new description; undefined keeps the current one. */
  desc: string | undefined;
}

/** Renames the volume; returns its vid. Nothing changes when it throws. */
export async function renameVolume(ctx: WriteContext, request: RenameRequest): Promise<VolumeId> {
  const { archive } = ctx;
  const index = await buildVolumeIndex(archive);
  const vid = index.byName.get(request.from);
  const [unreadable] = index.unreadable.values();
  if (!vid) {
    if (unreadable) throw new IntegrityError(unreadable.object, `${unreadable.detail}; so volume '${request.from}' cannot be found`);
    throw new FatalError(`Volume '${request.from}' not found.`);
  }
  if (index.byName.has(request.to) || volumeNameProblem(request.to) !== null) {
    throw new FatalError(`Error: Cannot rename '${request.from}' to '${request.to}'.`);
  }
  if (unreadable) throw new IntegrityError(unreadable.object, `${unreadable.detail}; cannot check that '${request.to}' is unique`);
  const volinfo = await archive.readVolInfo(vid);
  await commitVolInfos(ctx, new Map([[vid, { ...volinfo, name: request.to, desc: request.desc ?? volinfo.desc }]]));
  return vid;
}
