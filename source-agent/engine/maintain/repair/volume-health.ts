// How much of a volume can be trusted (arch-check's first pass). Unlike Archive.loadVolume,
// which stops at the first bad object, this reads every session's info, orders what loaded by
// sequence, and walks the chain from the first session while each session chains correctly
// (spec §12.2), its manifest loads and checks, and the merged view up to it covers its whole
// volume. That walk gives the longest coherent prefix: the sessions a rewind keeps.

import type { Archive, SessionRecord, Volume } from '../../../archive/archive.js';
import { layout } from '../../../archive/layout.js';
import { chunkFileName, type SessionName, type VolumeId } from '../../../archive/names.js';
import { IntegrityError } from '../../../errors.js';
import { itemAt } from '../../../lookup.js';

/** What rewinding a damaged volume would do: keep `keep`, drop every other session of volinfo. */
export interface RewindPlan {
  vid: VolumeId;
  name: string;
  /** Hm(volinfo) the plan was made from; the rewind refuses to run if archive.ini changed it. */
  volinfoHash: string;
  /** The coherent prefix, oldest first (empty: the volume cannot be recovered). */
  keep: SessionRecord[];
  /** Every other session volinfo lists, in volinfo order. */
  drop: SessionName[];
  /** The first session that broke the chain (for the message). */
  firstBad: SessionName;
}

export type VolumeHealth =
  /** Everything loads and chains: the volume as Archive.loadVolume gives it. */
  | { kind: 'ok'; volume: Volume }
  /** The volinfo itself is bad: nothing to rewind to. */
  | { kind: 'unreadable'; problem: IntegrityError }
  /** Some sessions are bad; `plan` says what a rewind would keep. */
  | { kind: 'damaged'; problems: IntegrityError[]; plan: RewindPlan };

export async function assessVolume(archive: Archive, vid: VolumeId): Promise<VolumeHealth> {
  const volinfoHash = archive.ini.volumes.get(vid);
  if (!volinfoHash) throw new Error(`${vid} is not in this archive`);
  let volinfo: Awaited<ReturnType<Archive['readVolInfo']>>;
  try {
    volinfo = await archive.readVolInfo(vid);
  } catch (error) {
    if (error instanceof IntegrityError) return { kind: 'unreadable', problem: error };
    throw error;
  }

  const problems: IntegrityError[] = [];
  const loaded: SessionRecord[] = [];
  const unloadable: SessionName[] = [];
  for (const [name, infoHash] of volinfo.sessions) {
    try {
      loaded.push({ name, info: await archive.readSessionInfo(layout.sessionInfo(vid, name), infoHash) });
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error; // I/O failures are not damage
      problems.push(error);
      unloadable.push(name);
    }
  }
  loaded.sort((a, b) => a.info.sequence - b.info.sequence);

  const keep: SessionRecord[] = [];
  const coverage = new Coverage();
  for (const session of loaded) {
    const problem = chainProblem(vid, keep.at(-1), session) ?? (await manifestProblem(archive, vid, session, coverage));
    if (problem) {
      problems.push(problem);
      break;
    }
    keep.push(session);
  }

  if (problems.length === 0) return { kind: 'ok', volume: { vid, name: volinfo.name, desc: volinfo.desc, sessions: keep } };
  const kept = new Set(keep.map((s) => s.name));
  const drop = [...volinfo.sessions.keys()].filter((name) => !kept.has(name));
  const firstBad = unloadable[0] ?? loaded[keep.length]?.name ?? itemAt(drop, 0);
  return { kind: 'damaged', problems, plan: { vid, name: volinfo.name, volinfoHash, keep, drop, firstBad } };
}

/** Spec §12.2: the first session has no previous; each later one names the one before it. */
function chainProblem(vid: VolumeId, before: SessionRecord | undefined, session: SessionRecord): IntegrityError | null {
  const where = layout.volinfo(vid);
  if (before && before.info.sequence >= session.info.sequence) {
    return new IntegrityError(where, `sessions ${before.name} and ${session.name} share sequence ${session.info.sequence}`);
  }
  const expected = before ? before.name : null;
  if (session.info.previous === expected) return null;
  return new IntegrityError(
    where,
    `session ${session.name} says previous = ${session.info.previous ?? 'None'}, expected ${expected ?? 'None'} (session out of sequence)`,
  );
}

/** The manifest loads and checks, and with the earlier ones covers the session's whole volume. */
async function manifestProblem(
  archive: Archive,
  vid: VolumeId,
  session: SessionRecord,
  coverage: Coverage,
): Promise<IntegrityError | null> {
  try {
    const manifest = await archive.loadManifest(vid, session);
    coverage.add(manifest.chunkIndexes, manifest.count);
  } catch (error) {
    if (error instanceof IntegrityError) return error;
    throw error;
  }
  const needed = Math.ceil(session.info.volsize / archive.chunkSize);
  const gap = coverage.firstGapBelow(needed);
  if (gap === null) return null;
  return new IntegrityError(
    layout.sessionDir(vid, session.name),
    `range stopped short: no session up to this one lists chunk ${chunkFileName(gap * archive.chunkSize)}`,
  );
}

/**
 * Which chunk indexes the sessions so far listed, as the first index none listed plus the listed
 * ones beyond it. Manifests are in address order, so a complete session only moves the gap and
 * nothing is stored; memory does not depend on a (possibly forged) volume size.
 */
class Coverage {
  private gap = 0;
  private readonly beyond = new Set<number>();

  add(indexes: ArrayLike<number>, count: number): void {
    for (let n = 0; n < count; n++) {
      const index = indexes[n]!;
      if (index === this.gap) {
        this.gap++;
        while (this.beyond.delete(this.gap)) this.gap++;
      } else if (index > this.gap) {
        this.beyond.add(index);
      }
    }
  }

  /** The first chunk index below `needed` that no session listed, or null. */
  firstGapBelow(needed: number): number | null {
    return this.gap < needed ? this.gap : null;
  }
}
