// arch-check: load every volume's metadata through the hash chain and check its indexes (session
// chain, every manifest, completeness of every session's view: repair/volume-health.ts), then the
// newest session's mfcs, then read and check the chunks every session stored, newest first.
// A volume whose newest sessions are damaged can be rewound to its coherent prefix; whether to
// do it is the caller's decision (the `rewind` hook), and the write is repair/rewind.ts.

import type { Archive, SessionRecord, Volume } from '../../archive/archive.js';
import { sessionLabel, type VolumeId } from '../../archive/names.js';
import { IntegrityError } from '../../errors.js';
import type { Output } from '../output.js';
import { warnMfcs } from '../restore/receive.js';
import {
  type ChunkDecoder,
  openDecoder,
  planRestore,
  readChunks,
  sessionChunkList,
  WORKERS_FROM_CHUNKS,
} from '../restore/restore-stream.js';
import type { SessionSpec } from '../select/session-select.js';
import { compareCodePoints } from '../select/volume-index.js';
import { assessVolume, type RewindPlan } from './repair/volume-health.js';

export interface ArchCheckRequest {
  /** Volume names to check, or null for every volume. */
  names: readonly string[] | null;
  /** null: every session; newest: only the newest; time: from that session down to the oldest. */
  session: Exclude<SessionSpec, { kind: 'tag' }> | null;
  signal?: AbortSignal | undefined;
  /**
   * Called for a damaged volume that has a coherent prefix; returns true when the volume was
   * rewound to it (the check then goes on with the rewound volume). Absent: never rewind.
   */
  rewind?: ((plan: RewindPlan) => Promise<boolean>) | undefined;
}

/** Returns the names (or ids) of volumes that failed a check. */
export async function archCheck(archive: Archive, request: ArchCheckRequest, out: Output): Promise<string[]> {
  const failed: string[] = [];
  const volumes: Volume[] = [];
  for (const vid of [...archive.ini.volumes.keys()]) {
    const volume = await loadChecked(archive, vid, request, out);
    if (volume) volumes.push(volume);
    else failed.push(await nameOrId(archive, vid));
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

  // Sessions are read one after another: one set of decode workers, started for the first long
  // one, serves them all (short ones are decoded on this thread).
  const shared: { decoder: ChunkDecoder | null } = { decoder: null };
  const decoderFor = (chunks: number): ChunkDecoder | undefined => {
    if (chunks < WORKERS_FROM_CHUNKS) return undefined;
    shared.decoder ??= openDecoder(archive);
    return shared.decoder;
  };
  try {
    for (const volume of [...selected].sort((a, b) => compareCodePoints(a.name, b.name))) {
      const sessions = sessionFilter(volume);
      if (spec?.kind === 'time' && sessions.length === 0) {
        out.warn(`No volume '${volume.name}' in session ${spec.name}.`);
        failed.push(volume.name);
        continue;
      }
      try {
        await checkVolume(archive, volume, sessions, out, decoderFor, request.signal);
      } catch (error) {
        if (!(error instanceof IntegrityError)) throw error;
        out.line();
        out.warn(`  ${error.message}`);
        failed.push(volume.name);
      }
    }
  } finally {
    await shared.decoder?.close();
  }
  return failed;
}

async function checkVolume(
  archive: Archive,
  volume: Volume,
  sessions: readonly SessionRecord[],
  out: Output,
  decoderFor: (chunks: number) => ChunkDecoder | undefined,
  signal?: AbortSignal,
): Promise<void> {
  out.line(`\nVolume '${volume.name}'`);
  out.write('  Checking indexes,');
  // The chain and every manifest passed in loadChecked; what is left is the newest mfcs.
  if (volume.sessions.length > 0) {
    const plan = await planRestore(archive, volume, volume.sessions.length - 1);
    if (plan.mfcsMismatch) warnMfcs(out, volume, plan.mfcsMismatch);
  }
  out.line(' data:');
  for (const session of sessions) {
    out.write(`  ${sessionLabel(session.name)} :`);
    const manifest = await archive.loadManifest(volume.vid, session);
    const list = sessionChunkList(archive, volume, session, manifest);
    for await (const _chunk of readChunks(archive, list, { signal, decoder: decoderFor(list.length) })) {
      // Each chunk is checked as it is read; nothing else to do with it here.
    }
    out.line(': OK ');
  }
}

/**
 * The volume with every index checked, or null when it failed (reported). A damaged volume
 * with a coherent prefix is offered for rewinding; once rewound it is checked again.
 */
async function loadChecked(archive: Archive, vid: VolumeId, request: ArchCheckRequest, out: Output): Promise<Volume | null> {
  const health = await assessVolume(archive, vid);
  if (health.kind === 'ok') {
    out.line(`${vid}: OK`);
    return health.volume;
  }
  if (health.kind === 'unreadable') {
    out.warn(`${vid}: ${health.problem.message}`);
    return null;
  }
  const { plan } = health;
  for (const problem of health.problems) out.warn(`${plan.name} - ${problem.message}`);
  const last = plan.keep.at(-1);
  if (!last) {
    out.warn(`\nVolume '${plan.name}' (${vid}) cannot be recovered.`);
    return null;
  }
  out.line(`\nVolume '${plan.name}' error in session: ${sessionLabel(plan.firstBad)}\nLast good session: ${sessionLabel(last.name)}`);
  if (!request.rewind || !(await request.rewind(plan))) return null;
  const again = await assessVolume(archive, vid);
  if (again.kind === 'ok') return again.volume;
  out.warn(`${vid}: still damaged after the rewind`);
  return null;
}

async function nameOrId(archive: Archive, vid: VolumeId): Promise<string> {
  try {
    return (await archive.readVolInfo(vid)).name;
  } catch {
    return vid;
  }
}
