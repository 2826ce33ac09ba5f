// send: back up volumes as one new session (behavior spec §4). Per volume:
//   prepare   snapshot and change detection (source/), or the whole import source;
//   read      only chunks that may have changed (all of them on a first or unpaired send),
//             through the worker pool; unchanged hashes are not stored again;
//   commit    manifest (changed entries only; complete for a first session), info with the true
//             mfcs, volinfo, archive.ini — the zipper commit (commit.ts, archive/transaction.ts) —
//             then the snapshot rotation that pairs the local snapshot with the new session.
// Every volume is committed on its own, so an interrupted multi-volume send keeps the volumes
// it finished; a failing volume is reported and the others go on (exit 2 at the end).

import type { Archive, SessionRecord, Volume } from '../../archive/archive.js';
import type { ArchiveWriter } from '../../archive/archive-writer.js';
import { HASH_BYTES } from '../../archive/hash.js';
import { layout } from '../../archive/layout.js';
import { manifestBytes, type SessionManifest } from '../../archive/manifest.js';
import { MergedManifest } from '../../archive/merged-manifest.js';
import {
  isMetadataVolume,
  isVolumeId,
  randomVolumeIdText,
  type SessionName,
  sessionLabel,
  sessionName,
  type VolumeId,
} from '../../archive/names.js';
import { SessionStaging } from '../../archive/session-staging.js';
import type { VolInfo } from '../../archive/volinfo.js';
import { IntegrityError, InterruptedError, LocalStorageError, SkiffError, VolumeFailure } from '../../errors.js';
import { lastOf } from '../../lookup.js';
import type { PreparedVolume } from '../../source/volume-source.js';
import { SendDedup, type VolumeDedup } from '../dedup/send-dedup.js';
import { planRestore } from '../restore/restore-stream.js';
import { ChunkPool, workerSetupFor } from '../workers/chunk-pool.js';
import { DATA, runChunkPipeline, ZERO } from './chunk-pipeline.js';
import { commitSession } from './commit.js';

/** How a volume's bytes are found; `prepare` is called once the volume's state is known. */
export interface SendVolume {
  name: string;
  prepare: (context: { vid: VolumeId; last: SessionRecord | null }) => Promise<PreparedVolume>;
}

export interface SendOptions {
  writer: ArchiveWriter;
  volumes: readonly SendVolume[];
  tags: ReadonlyMap<string, string>;
  sendUnchanged: boolean;
  dryRun: boolean;
  /** Program start: the session name is its local time. */
  startedAt: Date;
  signal?: AbortSignal | undefined;
  /** Called after each volume's commit (persist counters and the root locally). */
  afterCommit?: () => Promise<void>;
  /** Workers started early by the caller, who closes them (see ChunkPool); send configures them. */
  pool?: ChunkPool;
  /**
   * --autoprune=on|full: called before a volume's chunks are read when its changes (an
   * incremental estimate: changed chunks × chunk size) exceed the destination's free space.
   */
  makeRoom?: (volume: { vid: VolumeId; name: string }, neededBytes: number) => Promise<void>;
  /** --dedup: link chunks the archive already stores (dedup/send-dedup.ts). */
  dedup?: boolean;
  /** --verbose: also report what dedup saved, per volume. */
  verbose?: boolean;
  /** --volume-desc: the description of volumes this send adds to the archive (checked). */
  newVolumeDesc?: string;
  /**
   * Called once after every volume is prepared and before any is read: sources that find their
   * changes for all volumes in one step (LVM: one metadata-snapshot reservation per pool) do it
   * now. A failure ends the run like a failing prepare.
   */
  acquireDeltas?: (prepared: readonly PreparedVolume[]) => Promise<void>;
}

export interface VolumeReport {
  name: string;
  outcome: 'sent' | 'unchanged' | 'failed';
  sizeBytes: number;
  storedBytes: number;
  seconds: number;
  /** Bytes of chunk files linked instead of stored (--dedup). */
  dedupBytes?: number;
}

export interface SendEvents {
  note(text: string): void;
  warn(text: string): void;
  sending(session: string, dryRun: boolean, volumes: readonly string[]): void;
  /** `chunks` chunks to read, `bytes` bytes in them. */
  volumeStart(name: string, chunks: number, bytes: number): { update(done: number, storedBytes: number): void };
  volumeEnd(report: VolumeReport): void;
}

interface Prepared {
  request: SendVolume;
  vid: VolumeId;
  volume: Volume | null;
  source: PreparedVolume;
}

/** S_ + local time as YYYYMMDD-HHMMSS. */
export function sessionNameAt(date: Date): SessionName {
  const p = (n: number) => String(n).padStart(2, '0');
  return sessionName(
    `S_${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}-${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`,
  );
}

export async function send(options: SendOptions, events: SendEvents): Promise<VolumeReport[]> {
  const { writer } = options;
  const archive = writer.archive;
  const reports: VolumeReport[] = [];
  const prepared: Prepared[] = [];
  const byName = new Map<string, VolumeId>();
  for (const vid of archive.ini.volumes.keys()) byName.set((await archive.readVolInfo(vid)).name, vid);
  const newVids = new Set<string>();

  for (const request of options.volumes) {
    try {
      let vid = byName.get(request.name);
      const volume = vid ? await archive.loadVolume(vid) : null;
      if (!vid) {
        vid = await newVolumeId(archive, newVids);
        newVids.add(vid);
      }
      const source = await request.prepare({ vid, last: volume?.sessions.at(-1) ?? null });
      prepared.push({ request, vid, volume, source });
    } catch (error) {
      if (
        !(error instanceof SkiffError) ||
        error instanceof LocalStorageError ||
        error instanceof InterruptedError ||
        options.signal?.aborted
      ) {
        // The run ends: snapshots taken for the volumes prepared so far are not left behind.
        for (const p of prepared) await p.source.discard().catch(() => {});
        throw error;
      }
      events.warn(`  ${error.message}`);
      reports.push({ name: request.name, outcome: 'failed', sizeBytes: 0, storedBytes: 0, seconds: 0 });
    }
  }

  if (options.acquireDeltas && prepared.length > 0) {
    try {
      await options.acquireDeltas(prepared.map((p) => p.source));
    } catch (error) {
      for (const p of prepared) await p.source.discard().catch(() => {});
      throw error;
    }
  }

  const session = await uniqueSessionName(archive, options.startedAt, prepared);
  const dedup = options.dedup
    ? await SendDedup.open(archive, { dryRun: options.dryRun, warn: (text) => events.warn(text), signal: options.signal })
    : null;
  events.sending(
    sessionLabel(session),
    options.dryRun,
    prepared.map((p) => p.request.name),
  );
  const pool = options.pool ?? new ChunkPool();
  pool.configure(workerSetupFor(archive));
  try {
    for (const item of prepared) {
      const started = performance.now();
      try {
        const report = await sendVolume(options, item, session, pool, events, dedup);
        reports.push({ ...report, seconds: (performance.now() - started) / 1000 });
        events.volumeEnd(lastOf(reports));
        // Wyng's line under the volume: the MiB not stored thanks to dedup, as a negative number.
        if (options.verbose && report.dedupBytes) events.note(`${(-(report.dedupBytes / (1024 * 1024))).toFixed(1).padStart(9)}MB (dedup)`);
        if (report.outcome === 'sent' && !options.dryRun) await options.afterCommit?.();
      } catch (error) {
        await item.source.discard().catch(() => {});
        await new SessionStaging(archive.store, item.vid).clear().catch(() => {});
        if (!(error instanceof IntegrityError || error instanceof VolumeFailure)) throw error;
        events.warn(`  ${error.message}`);
        const report: VolumeReport = {
          name: item.request.name,
          outcome: 'failed',
          sizeBytes: item.source.size,
          storedBytes: 0,
          seconds: 0,
        };
        reports.push(report);
        events.volumeEnd(report);
      }
    }
  } finally {
    if (!options.pool) await pool.close();
  }
  return reports;
}

/** A fresh random vid (Wyng: Vol_ + 3 random bytes) that is not listed and has no directory. */
export async function newVolumeId(archive: Archive, taken: ReadonlySet<string>): Promise<VolumeId> {
  for (;;) {
    const vid = randomVolumeIdText();
    if (!isVolumeId(vid) || archive.ini.volumes.has(vid) || taken.has(vid)) continue;
    if (await archive.store.stat(layout.volumeDir(vid))) continue; // an orphaned directory: leave it alone
    return vid;
  }
}

/** The start time's name, moved on a second at a time until no volume has it (Wyng fails instead). */
async function uniqueSessionName(archive: Archive, startedAt: Date, prepared: readonly Prepared[]): Promise<SessionName> {
  let time = startedAt.getTime();
  for (;;) {
    const name = sessionNameAt(new Date(time));
    let clash = false;
    for (const p of prepared) {
      if (p.volume?.sessions.some((s) => s.name === name) || (await archive.store.stat(layout.sessionDir(p.vid, name)))) clash = true;
    }
    if (!clash) return name;
    time += 1000;
  }
}

async function sendVolume(
  options: SendOptions,
  item: Prepared,
  session: SessionName,
  pool: ChunkPool,
  events: SendEvents,
  dedup: SendDedup | null,
): Promise<Omit<VolumeReport, 'seconds'>> {
  const { writer } = options;
  const archive = writer.archive;
  const { vid, volume, source } = item;
  const chunkSize = archive.chunkSize;
  const last = volume?.sessions.at(-1) ?? null;
  const name = item.request.name;
  if (source.unchanged && !options.sendUnchanged) {
    if (!options.dryRun && last) await source.commit(last.name, last.info.sequence);
    return { name, outcome: 'unchanged', sizeBytes: source.size, storedBytes: 0 };
  }

  const previous = volume && last ? (await planRestore(archive, volume, volume.sessions.length - 1)).merged : null;
  const chunkCount = Math.ceil(source.size / chunkSize);
  const indexes = chunksToRead(source, previous, chunkCount, chunkSize);
  if (options.makeRoom && previous && source.changed !== null && !options.dryRun) {
    // Full scans have no estimate (as in Wyng): only incremental sends can trigger autoprune.
    const needed = indexes.length * chunkSize;
    if (needed > (await archive.store.freeSpace())) {
      await options.makeRoom({ vid, name }, needed);
      item.volume = await archive.loadVolume(vid); // older sessions may be gone (the newest stays)
    }
  }
  // wyng-*metadata volumes use an index that exists but do not build one (as Wyng).
  const volumeDedup = dedup ? await dedup.forVolume(vid, !isMetadataVolume(name)) : null;
  try {
    return await sendChunks(options, item, session, pool, events, { previous, indexes, volumeDedup });
  } catch (error) {
    volumeDedup?.abandoned();
    throw error;
  }
}

async function sendChunks(
  options: SendOptions,
  item: Prepared,
  session: SessionName,
  pool: ChunkPool,
  events: SendEvents,
  plan: { previous: MergedManifest | null; indexes: number[]; volumeDedup: VolumeDedup | null },
): Promise<Omit<VolumeReport, 'seconds'>> {
  const { writer } = options;
  const archive = writer.archive;
  const { vid, volume, source } = item;
  const chunkSize = archive.chunkSize;
  const last = volume?.sessions.at(-1) ?? null;
  const name = item.request.name;
  const { previous, indexes, volumeDedup } = plan;
  const staging = new SessionStaging(archive.store, vid);
  await staging.clear();
  // Every chunk read is whole but the volume's last, which may be short.
  const lastIndex = Math.ceil(source.size / chunkSize) - 1;
  const lastShortBy = (lastIndex + 1) * chunkSize - source.size;
  const readBytes = indexes.length * chunkSize - (indexes.at(-1) === lastIndex ? lastShortBy : 0);
  const progress = events.volumeStart(name, indexes.length, readBytes);
  const result = await runChunkPipeline({
    pool,
    sink: staging,
    chunkSize,
    volsize: source.size,
    indexes,
    sourcePath: source.path,
    previousHash: (index) => (previous && index < previous.chunkCount && !previous.isZero(index) ? previous.hashAt(index) : null),
    chunkPath: (index) => staging.chunkPath(index * chunkSize),
    // One counter a chunk read, reserved a batch at a time (each batch's are consecutive).
    ctCounter: (count) => writer.counters?.reserveData(count) ?? 0n,
    now: writer.now,
    dryRun: options.dryRun,
    signal: options.signal,
    onProgress: (done, stored) => progress.update(done, stored),
    dedup: volumeDedup ?? undefined,
  });
  const dedupBytes = result.linkedBytes;

  const manifest = sessionManifest(indexes, result, previous);
  const sizeChanged = !last || last.info.volsize !== source.size;
  const permissionsChanged = !last || last.info.permissions !== source.permissions;
  const needed = manifest.count > 0 || sizeChanged || permissionsChanged || options.sendUnchanged || source.alwaysSession;
  if (options.dryRun) {
    // The index keeps this volume's chunks: later volumes of the dry run estimate against them.
    await source.discard();
    return { name, outcome: needed ? 'sent' : 'unchanged', sizeBytes: source.size, storedBytes: result.storedBytes, dedupBytes };
  }
  if (!needed) {
    // Every chunk read hashed as before: the new snapshot holds the newest session's data.
    if (last) await source.commit(last.name, last.info.sequence);
    volumeDedup?.abandoned();
    await staging.clear();
    return { name, outcome: 'unchanged', sizeBytes: source.size, storedBytes: 0 };
  }

  const merged = new MergedManifest(source.size, chunkSize);
  merged.addOlder(manifest, 0);
  if (previous) merged.addMerged(previous, 1);
  const sequence = last ? last.info.sequence + 1 : 0;
  const volinfo: VolInfo = volume ? await archive.readVolInfo(vid) : { name, desc: options.newVolumeDesc ?? '', sessions: new Map() };
  await commitSession(writer, staging, {
    vid,
    volinfo,
    session,
    sessionOrder: volume ? volume.sessions.map((s) => s.name) : [],
    info: {
      localtime: String(source.mtimeNs),
      previous: last ? last.name : null,
      permissions: source.permissions,
      volsize: source.size,
      sequence,
      mfcs: merged.crc(),
      tags: new Map(options.tags),
    },
    manifest: manifestBytes(manifest, chunkSize),
    chunkDirs: result.chunkDirs,
  });
  if (volumeDedup) volumeDedup.published(session, (await archive.loadVolume(vid)).sessions.at(-1) ?? null);
  await source.commit(session, sequence);
  return { name, outcome: 'sent', sizeBytes: source.size, storedBytes: result.storedBytes, dedupBytes };
}

/** Chunk indexes to read: the changed ones, everything past the old end, and a resized last chunk. */
function chunksToRead(source: PreparedVolume, previous: MergedManifest | null, chunkCount: number, chunkSize: number): number[] {
  if (!previous || source.changed === null) return Array.from({ length: chunkCount }, (_, i) => i);
  const marked = new Uint8Array(chunkCount);
  marked.set(source.changed.subarray(0, chunkCount));
  if (previous.volsize !== source.size) {
    const oldLast = previous.chunkCount - 1;
    if (oldLast >= 0 && oldLast < chunkCount) marked[oldLast] = 1;
    marked.fill(1, Math.min(previous.chunkCount, chunkCount));
    if (chunkCount > 0 && source.size % chunkSize !== 0) marked[chunkCount - 1] = 1;
  }
  const out: number[] = [];
  for (let i = 0; i < chunkCount; i++) if (marked[i]) out.push(i);
  return out;
}

/**
 * The new session's manifest: every chunk for a first session; otherwise a chunk that is now
 * zero where it was not (or is new), and a chunk whose hash changed.
 */
function sessionManifest(
  indexes: readonly number[],
  result: Awaited<ReturnType<typeof runChunkPipeline>>,
  previous: MergedManifest | null,
): SessionManifest {
  const listed: number[] = [];
  for (const index of indexes) {
    const kind = result.kinds[index];
    if (kind === DATA) listed.push(index);
    else if (kind === ZERO && !(previous && index < previous.chunkCount && previous.isZero(index))) listed.push(index);
  }
  const hashes = new Uint8Array(listed.length * HASH_BYTES);
  const isZero = new Uint8Array(listed.length);
  listed.forEach((index, n) => {
    if (result.kinds[index] === ZERO) isZero[n] = 1;
    else hashes.set(result.hashes.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES), n * HASH_BYTES);
  });
  return { count: listed.length, chunkIndexes: Float64Array.from(listed), hashes, isZero };
}
