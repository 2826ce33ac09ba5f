// add: new, empty volumes (no sessions, no sessions file — as Wyng, format spec §13.3), each
// with a fresh random vid, published in one commit (volinfo-commit.ts). Names already in the
// archive are skipped silently; invalid names are reported and go to the error list.

import { MAX_VOLUMES } from '../../archive/archive-ini.js';
import { type VolumeId, volumeNameProblem } from '../../archive/names.js';
import type { VolInfo } from '../../archive/volinfo.js';
import { IntegrityError } from '../../errors.js';
import type { Output } from '../output.js';
import { buildVolumeIndex } from '../select/volume-index.js';
import { newVolumeId } from '../send/send.js';
import type { WriteContext } from '../write-context.js';
import { commitVolInfos } from './volinfo-commit.js';

export interface AddResult {
  added: { name: string; vid: VolumeId }[];
  /** Names that could not be added (invalid, or over the volume limit). */
  failed: string[];
}

export async function addVolumes(ctx: WriteContext, names: readonly string[], desc: string, out: Output): Promise<AddResult> {
  const { archive } = ctx;
  const index = await buildVolumeIndex(archive);
  const [unreadable] = index.unreadable.values();
  // A volume whose volinfo cannot be read may have any name: a new one could duplicate it.
  if (unreadable) throw new IntegrityError(unreadable.object, `${unreadable.detail}; cannot check that new volume names are unique`);
  const result: AddResult = { added: [], failed: [] };
  const changes = new Map<VolumeId, VolInfo>();
  for (const name of new Set(names)) {
    if (index.byName.has(name)) continue;
    const problem = volumeNameProblem(name);
    if (problem) {
      out.warn(`${problem} (${JSON.stringify(name)})`);
      result.failed.push(name);
      continue;
    }
    if (archive.ini.volumes.size + changes.size >= MAX_VOLUMES) {
      out.warn(`Cannot add '${name}': an archive holds at most ${MAX_VOLUMES} volumes.`);
      result.failed.push(name);
      continue;
    }
    const vid = await newVolumeId(archive, new Set(changes.keys()));
    changes.set(vid, { name, desc, sessions: new Map() });
    result.added.push({ name, vid });
  }
  if (changes.size > 0) await commitVolInfos(ctx, changes);
  if (out.verbose) for (const { name, vid } of result.added) out.line(`Added volume '${name}' (${vid}).`);
  return result;
}
