// Finding volumes by name. Names live inside each volinfo, so selecting a volume means reading
// every volinfo once; a volinfo that fails its checks is reported instead of stopping the others.

import type { Archive } from '../../archive/archive.js';
import { layout } from '../../archive/layout.js';
import type { VolumeId } from '../../archive/names.js';
import { InputError, IntegrityError } from '../../errors.js';
import { itemAt } from '../../lookup.js';

export interface VolumeIndex {
  /** name → vid for every volume whose volinfo passed its checks. */
  readonly byName: Map<string, VolumeId>;
  /** Volumes whose volinfo could not be read, with the reason. */
  readonly unreadable: Map<VolumeId, IntegrityError>;
}

export async function buildVolumeIndex(archive: Archive): Promise<VolumeIndex> {
  const byName = new Map<string, VolumeId>();
  const unreadable = new Map<VolumeId, IntegrityError>();
  for (const vid of archive.ini.volumes.keys()) {
    try {
      const volinfo = await archive.readVolInfo(vid);
      if (byName.has(volinfo.name)) {
        unreadable.set(vid, new IntegrityError(layout.volinfo(vid), `volume name '${volinfo.name}' is used twice`));
        continue;
      }
      byName.set(volinfo.name, vid);
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      unreadable.set(vid, error);
    }
  }
  return { byName, unreadable };
}

export interface SelectionRequest {
  names: readonly string[];
  all: boolean;
  exclude: readonly string[];
}

/**
 * The selected volume names: the named ones plus, with --all, every volume except --volex ones,
 * sorted. A name not in the archive is an input error — unless some volinfo could not be read,
 * in which case the missing name may be that volume, and the integrity failure is what to report.
 */
export function selectVolumes(index: VolumeIndex, request: SelectionRequest): string[] {
  const { names, missing } = selectExisting(index, request);
  const [name] = missing;
  if (name !== undefined) throw new InputError(`Volume '${name}' not found.`);
  return names;
}

/**
 * The same, for the commands Wyng lets skip a name the archive lacks (all but add, delete,
 * rename, send and arch-check: behavior spec §1.2 step 14): the names found, and those not found. An unreadable volinfo still
 * stops the run, as the missing name may be that volume's.
 */
export function selectExisting(index: VolumeIndex, request: SelectionRequest): { names: string[]; missing: string[] } {
  const selected = new Set(request.names);
  if (request.all) for (const name of index.byName.keys()) if (!request.exclude.includes(name)) selected.add(name);
  const missing: string[] = [];
  for (const name of selected) {
    if (index.byName.has(name)) continue;
    const [first] = index.unreadable.values();
    if (first) throw new IntegrityError(first.object, `${first.detail}; so volume '${name}' cannot be found`);
    missing.push(name);
  }
  const sorted = [...selected].sort(compareCodePoints);
  return { names: sorted.filter((n) => index.byName.has(n)), missing: sorted.filter((n) => !index.byName.has(n)) };
}

/** Python's default string order (by code point), which Wyng uses to sort names. */
export function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = itemAt(x, i).codePointAt(0)! - itemAt(y, i).codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}
