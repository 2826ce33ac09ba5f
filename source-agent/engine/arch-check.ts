// arch-check (read-only part): load every volume's metadata through the hash chain, check each
// volume's indexes (session chain, every manifest, completeness of every session's view, the
// newest session's mfcs), then read and check the chunks every session stored, newest first.
// Repairs (--clean, rewinding, --change-uuid) are write operations and are not done here.

import type { Archive, SessionRecord, Volume } from '../archive/archive.js';
import { chunkFileName, layout, sessionLabel, type VolumeId } from '../archive/names.js';
import { IntegrityError } from '../errors.js';
import type { Output } from './output.js';
import { warnMfcs } from './receive.js';
import { planRestore, readChunks, sessionChunkList } from './restore-stream.js';
import type { SessionSpec } from './session-select.js';
import { compareCodePoints } from './volume-index.js';

export interface ArchCheckRequest {
  /** Volume names to check, or null for every volume. */
  names: readonly string[] | null;
  /** null: every session; newest: only the newest; time: from that session down to the oldest. */
  session: Exclude<SessionSpec, { kind: 'tag' }> | null;
  signal?: AbortSignal | undefined;
}

/** Returns the names (or ids) of volumes that failed a check. */
export async function archCheck(archive: Archive, request: ArchCheckRequest, out: Output): Promise<string[]> {
  const failed: string[] = [];
  const volumes: Volume[] = [];
  for (const vid of archive.ini.volumes.keys()) {
    try {
      volumes.push(await archive.loadVolume(vid));
      out.line(`${vid}: OK`);
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      out.warn(`${vid}: ${error.message}`);
      failed.push(await nameOrId(archive, vid));
    }
  }

  let selected = volumes;
  if (request.names) selected = volumes.filter((v) => request.names?.includes(v.name));
  let sessionFilter: (volume: Volume) => SessionRecord[] = (v) => [...v.sessions].reverse();
  const spec = request.session;
  if (spec?.kind === 'newest' && request.names === null) {
    // Without names, "newest" means the newest session of the whole archive, in the volumes that have it.
    const newest = volumes
      .flatMap((v) => v.sessions.map((s) => s.name))
      .sort()
      .at(-1);
    selected = volumes.filter((v) => v.sessions.some((s) => s.name === newest));
    sessionFilter = (v) => v.sessions.filter((s) => s.name === newest);
    if (newest && out.verbose) out.line(`Session ${sessionLabel(newest)} selected.`);
  } else if (spec?.kind === 'newest') {
    sessionFilter = (v) => v.sessions.slice(-1);
  } else if (spec?.kind === 'time') {
    if (!request.names) selected = selected.filter((v) => v.sessions.some((s) => s.name === spec.name));
    sessionFilter = (v) => {
      const start = v.sessions.findIndex((s) => s.name === spec.name);
      return start < 0 ? [] : v.sessions.slice(0, start + 1).reverse();
    };
    if (out.verbose) out.line(`Session ${sessionLabel(spec.name)} selected.`);
  }

  for (const volume of [...selected].sort((a, b) => compareCodePoints(a.name, b.name))) {
    const sessions = sessionFilter(volume);
    if (spec?.kind === 'time' && sessions.length === 0) {
      out.warn(`No volume '${volume.name}' in session ${spec.name}.`);
      failed.push(volume.name);
      continue;
    }
    try {
      await checkVolume(archive, volume, sessions, out, request.signal);
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      out.line();
      out.warn(`  ${error.message}`);
      failed.push(volume.name);
    }
  }
  return failed;
}

async function checkVolume(
  archive: Archive,
  volume: Volume,
  sessions: readonly SessionRecord[],
  out: Output,
  signal?: AbortSignal,
): Promise<void> {
  out.line(`\nVolume '${volume.name}'`);
  out.write('  Checking indexes,');
  await checkIndexes(archive, volume, out);
  out.line(' data:');
  for (const session of sessions) {
    out.write(`  ${sessionLabel(session.name)} :`);
    const manifest = await archive.loadManifest(volume.vid, session);
    const list = sessionChunkList(archive, volume, session, manifest);
    for await (const _chunk of readChunks(archive, list, { signal })) {
      // Each chunk is checked as it is read; nothing else to do with it here.
    }
    out.line(': OK ');
  }
}

/**
 * Every manifest loads and passes its checks; every session's merged view covers its whole
 * volume (so each session can be restored); the newest session's mfcs matches.
 */
async function checkIndexes(archive: Archive, volume: Volume, out: Output): Promise<void> {
  const chunkCounts = volume.sessions.map((s) => Math.ceil(s.info.volsize / archive.chunkSize));
  const covered = new Uint8Array(Math.max(0, ...chunkCounts));
  let firstUncovered = 0;
  for (const [i, session] of volume.sessions.entries()) {
    const manifest = await archive.loadManifest(volume.vid, session);
    for (let n = 0; n < manifest.count; n++) covered[manifest.chunkIndexes[n] as number] = 1;
    while (firstUncovered < covered.length && covered[firstUncovered]) firstUncovered++;
    const needed = chunkCounts[i] as number;
    if (firstUncovered < needed) {
      throw new IntegrityError(
        layout.sessionDir(volume.vid, session.name),
        `range stopped short: no session up to this one lists chunk ${chunkFileName(firstUncovered * archive.chunkSize)}`,
      );
    }
  }
  if (volume.sessions.length > 0) {
    const plan = await planRestore(archive, volume, volume.sessions.length - 1);
    if (plan.mfcsMismatch) warnMfcs(out, volume, plan.mfcsMismatch);
  }
}

async function nameOrId(archive: Archive, vid: VolumeId): Promise<string> {
  try {
    return (await archive.readVolInfo(vid)).name;
  } catch {
    return vid;
  }
}
