// The write side of the format's commits (format spec §13, doc/archive-format.md §7): every
// change of archive.ini goes through here, in one of three shapes.
//
// * The zipper (Transaction): a send's session, add, rename, rewind. Files are staged under
//   temporary names — S-tmp/ with its chunk files (made durable), manifest.z and info; each
//   changed volume's volinfo.tmp and sessions.tmp; then archive.ini.tmp, the complete next root.
//   One ordered rename batch publishes them innermost first:
//     S-tmp → S_name, per volume sessions.tmp → sessions then volinfo.tmp → volinfo,
//     archive.ini.tmp → archive.ini
//   then the archive adopts the new root, the local rollback anchor is recorded (persist), and
//   the .bak copies are refreshed. Until the last volinfo rename nothing visible changed (the
//   next write's recovery removes the .tmp files); after it, archive.ini.tmp matches what is on
//   disk and recovery publishes it (recovery.ts). Wyng's own send renames archive.ini before the
//   session directory; this order never references a missing directory.
// * installRoot: a single-step change of the root alone (a delete's journal steps), written in
//   place (put is atomic).
// * publishRoot: the root alone through archive.ini.tmp and a rename (change-uuid).

import type { Store } from '../store/store.js';
import type { Archive } from './archive.js';
import type { ArchiveIni } from './archive-ini.js';
import type { ArchiveWriter } from './archive-writer.js';
import { layout } from './layout.js';
import type { SessionName, VolumeId } from './names.js';
import { formatSessionInfo, type SessionInfo } from './session-info.js';
import type { SessionStaging } from './session-staging.js';
import { formatVolInfo, type VolInfo } from './volinfo.js';

/** What a write needs beyond the archive: the writer (sealing, counters) and the local anchor. */
export interface WriteSession {
  readonly writer: ArchiveWriter;
  /** Records the root just written (the rollback anchor) and the counters reserved after it. */
  persist(): Promise<void>;
}

/** A root as written: its bytes and what they say. */
export interface NewRoot {
  bytes: Buffer;
  ini: ArchiveIni;
}

/** The archive takes `root` as its current root (what later reads and writes start from). */
export function adoptRoot(archive: Archive, root: NewRoot): void {
  archive.ini = root.ini;
  archive.rootBytes = root.bytes;
}

/** Writes a new archive.ini in place (put is atomic), records it locally, then its .bak copy. */
export async function installRoot(session: WriteSession, root: NewRoot): Promise<void> {
  const archive = session.writer.archive;
  await archive.store.put(layout.archiveIni, root.bytes);
  adoptRoot(archive, root);
  await session.persist();
  await archive.store.put(layout.rootBak, root.bytes);
}

/** Writes a new archive.ini through archive.ini.tmp and one rename, records it, then the .bak. */
export async function publishRoot(session: WriteSession, root: NewRoot): Promise<void> {
  const archive = session.writer.archive;
  const store = archive.store;
  await store.put(layout.rootTmp, root.bytes);
  await store.renameBatch([[layout.rootTmp, layout.archiveIni]]);
  adoptRoot(archive, root);
  await session.persist();
  await store.put(layout.rootBak, root.bytes);
}

/** The per-volume `sessions` file: Python's json.dump of the names (", " separators, no newline). */
export function sessionsFileText(names: readonly string[]): string {
  return `[${names.map((s) => JSON.stringify(s)).join(', ')}]`;
}

export interface StagedSession {
  /** The session's info, without its manifest hash (the sealed manifest's hash goes in). */
  info: Omit<SessionInfo, 'manifestHash'>;
  /** The manifest text (manifest.ts: manifestBytes); empty: the session has no manifest.z. */
  manifest: Buffer;
  /** Chunk sub-directories of S-tmp that received files. */
  chunkDirs: Iterable<string>;
}

/** One zipper commit: stage, then commit() publishes everything staged and adopts the root. */
export class Transaction {
  private readonly writer: ArchiveWriter;
  private readonly archive: Archive;
  private readonly store: Store;
  private readonly persist: (() => Promise<void>) | null;
  private readonly renames: (readonly [string, string])[] = [];
  private readonly volumes: Map<VolumeId, string>;
  /** The volinfo files as sealed, for their .bak copies. */
  private readonly volinfos: { vid: VolumeId; bytes: Buffer }[] = [];

  /** `persist` null: the caller records the local anchor itself, later (send). */
  constructor(writer: ArchiveWriter, persist: (() => Promise<void>) | null) {
    this.writer = writer;
    this.archive = writer.archive;
    this.store = writer.archive.store;
    this.persist = persist;
    this.volumes = new Map(this.archive.ini.volumes);
  }

  /**
   * Seals S-tmp's manifest.z and info after its chunk files and their directories are made
   * durable; S-tmp is published as `name`, first. Returns the info's hash (for the volinfo).
   */
  async stageSession(staging: SessionStaging, name: SessionName, session: StagedSession): Promise<string> {
    const { store, writer } = this;
    await store.mkdir(staging.dir);
    // The chunk files and their directories must be on disk before anything points at them.
    await store.flush();
    for (const dir of session.chunkDirs) await store.fsyncDir(dir);
    let manifestHash: string | null = null;
    if (session.manifest.length > 0) {
      const sealed = writer.sealMetadata(session.manifest);
      await store.put(layout.sessionTmpManifest(staging.vid), sealed.bytes);
      manifestHash = sealed.hash;
    }
    const info = writer.sealMetadata(formatSessionInfo({ ...session.info, manifestHash }));
    await store.put(layout.sessionTmpInfo(staging.vid), info.bytes);
    this.renames.push([staging.dir, layout.sessionDir(staging.vid, name)]);
    return info.hash;
  }

  /**
   * Stages a volume's new volinfo (and its sessions file, in sequence order, when given; omitted:
   * not rewritten). An existing vid keeps its place in [volumes]; a new one is appended.
   */
  async stageVolInfo(vid: VolumeId, volinfo: VolInfo, sessionOrder?: readonly string[]): Promise<void> {
    const object = this.writer.sealMetadata(formatVolInfo(volinfo));
    await this.store.put(layout.volinfoTmp(vid), object.bytes);
    if (sessionOrder) {
      await this.store.put(layout.sessionsTmp(vid), Buffer.from(sessionsFileText(sessionOrder)));
      this.renames.push([layout.sessionsTmp(vid), layout.sessionsFile(vid)]);
    }
    this.renames.push([layout.volinfoTmp(vid), layout.volinfo(vid)]);
    this.volumes.set(vid, object.hash);
    this.volinfos.push({ vid, bytes: object.bytes });
  }

  /** archive.ini.tmp, the one rename batch, the new root adopted and recorded, the .bak copies. */
  async commit(): Promise<void> {
    const { archive, store } = this;
    const root = this.writer.root({ ...archive.ini, volumes: this.volumes });
    await store.put(layout.rootTmp, root.bytes);
    await store.renameBatch([...this.renames, [layout.rootTmp, layout.archiveIni]]);
    adoptRoot(archive, root);
    for (const { vid } of this.volinfos) archive.forgetVolInfo(vid);
    await this.persist?.();
    await store.put(layout.rootBak, root.bytes);
    for (const { vid, bytes } of this.volinfos) await store.put(layout.volinfoBak(vid), bytes);
  }
}

/** Removes session directories a commit no longer lists (rewind: after the commit). */
export async function removeSessionDirs(archive: Archive, vid: VolumeId, names: readonly SessionName[]): Promise<void> {
  for (const name of names) await archive.store.removeTree(layout.sessionDir(vid, name));
}
