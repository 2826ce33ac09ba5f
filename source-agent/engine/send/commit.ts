// Publishing a new session: the zipper commit (format spec §13, doc/archive-format.md §7).
//
//   1. chunk files are already in Vol_x/S-tmp/; the store is flushed so they are durable;
//   2. S-tmp/manifest.z and S-tmp/info, then volinfo.tmp, sessions.tmp and archive.ini.tmp are
//      written durably: archive.ini.tmp is the complete next state of the archive;
//   3. one ordered rename batch publishes them innermost first:
//        S-tmp → S_name, sessions.tmp → sessions, volinfo.tmp → volinfo, archive.ini.tmp → archive.ini
//   4. the .bak copies are refreshed.
//
// Until the last rename the old archive.ini still describes a complete archive. A crash between
// the volinfo and archive.ini renames leaves a volinfo newer than its root; recover.ts completes
// that from archive.ini.tmp, using only what is on the destination. Wyng's own send renames
// archive.ini before the session directory; this order never references a missing directory.

import type { Archive } from '../../archive/archive.js';
import type { ArchiveWriter } from '../../archive/archive-writer.js';
import { encodeHash, HASH_BYTES } from '../../archive/hash.js';
import type { SessionManifest } from '../../archive/manifest.js';
import { chunkFileName, layout, type SessionName, type VolumeId } from '../../archive/names.js';
import { formatSessionInfo, type SessionInfo } from '../../archive/session-info.js';
import { formatVolInfo, type VolInfo } from '../../archive/volinfo.js';
import { itemAt } from '../../lookup.js';

/** Manifest text as bytes (63 bytes per hash line, 20 per zero line). */
export function manifestBytes(manifest: SessionManifest, chunkSize: number): Buffer {
  let size = 0;
  for (let n = 0; n < manifest.count; n++) size += manifest.isZero[n] ? 20 : 63;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let n = 0; n < manifest.count; n++) {
    const hash = manifest.isZero[n] ? '0' : encodeHash(manifest.hashes.subarray(n * HASH_BYTES, (n + 1) * HASH_BYTES));
    at += out.write(`${hash} ${chunkFileName(manifest.chunkIndexes[n]! * chunkSize)}\n`, at, 'latin1');
  }
  return out;
}

export interface SessionCommit {
  vid: VolumeId;
  /** The volume's volinfo before this session (name, desc, earlier sessions). */
  volinfo: VolInfo;
  session: SessionName;
  /** Names of the volume's sessions in sequence order, before this one. */
  sessionOrder: string[];
  info: Omit<SessionInfo, 'manifestHash'>;
  manifest: Buffer;
  /** Chunk sub-directories of S-tmp that received files. */
  chunkDirs: Iterable<string>;
}

export const SESSION_TMP = 'S-tmp';

export async function commitSession(writer: ArchiveWriter, commit: SessionCommit): Promise<void> {
  const archive: Archive = writer.archive;
  const store = archive.store;
  const { vid } = commit;
  const tmpDir = `${vid}/${SESSION_TMP}`;
  await store.mkdir(tmpDir);
  // The chunk files and their directories must be on disk before anything points at them.
  await store.flush();
  for (const dir of commit.chunkDirs) await store.fsyncDir(dir);

  let manifestHash: string | null = null;
  if (commit.manifest.length > 0) {
    const sealed = writer.sealMetadata(commit.manifest);
    await store.put(`${tmpDir}/manifest.z`, sealed.bytes);
    manifestHash = sealed.hash;
  }
  const info = writer.sealMetadata(formatSessionInfo({ ...commit.info, manifestHash }));
  await store.put(`${tmpDir}/info`, info.bytes);

  const volinfo: VolInfo = { ...commit.volinfo, sessions: new Map([...commit.volinfo.sessions, [commit.session, info.hash]]) };
  await publishVolInfos(writer, [{ vid, volinfo, sessionOrder: [...commit.sessionOrder, commit.session] }], {
    first: [[tmpDir, layout.sessionDir(vid, commit.session)]],
  });
}

/** The per-volume `sessions` file: Python's json.dump of the names (", " separators, no newline). */
export function sessionsFileText(names: readonly string[]): string {
  return `[${names.map((s) => JSON.stringify(s)).join(', ')}]`;
}

export interface VolInfoChange {
  vid: VolumeId;
  volinfo: VolInfo;
  /** The volume's sessions in sequence order, for its `sessions` file (omitted: not rewritten). */
  sessionOrder?: readonly string[];
}

/**
 * Publishes new volinfo files (and sessions files) with the archive.ini that lists them — the
 * zipper every metadata commit uses (send, add, rename, rewind): each volume's volinfo.tmp (and
 * sessions.tmp), then archive.ini.tmp; one ordered rename batch — `first` (e.g. S-tmp → S_name),
 * per volume sessions then volinfo, archive.ini last; `persist` (the local rollback anchor);
 * then the .bak copies. Until the last volinfo rename nothing visible changed; after it,
 * archive.ini.tmp matches what is on disk and recover.ts publishes it.
 */
export async function publishVolInfos(
  writer: ArchiveWriter,
  changes: readonly VolInfoChange[],
  options: { first?: readonly (readonly [string, string])[]; persist?: () => Promise<void> } = {},
): Promise<void> {
  const archive = writer.archive;
  const store = archive.store;
  const volumes = new Map(archive.ini.volumes);
  const sealed: Buffer[] = [];
  const renames: (readonly [string, string])[] = [...(options.first ?? [])];
  for (const { vid, volinfo, sessionOrder } of changes) {
    const object = writer.sealMetadata(formatVolInfo(volinfo));
    await store.put(`${vid}/volinfo.tmp`, object.bytes);
    if (sessionOrder) {
      await store.put(`${vid}/sessions.tmp`, Buffer.from(sessionsFileText(sessionOrder)));
      renames.push([`${vid}/sessions.tmp`, `${vid}/sessions`]);
    }
    renames.push([`${vid}/volinfo.tmp`, layout.volinfo(vid)]);
    volumes.set(vid, object.hash); // an existing vid keeps its place; a new one is appended
    sealed.push(object.bytes);
  }
  const root = writer.root({ ...archive.ini, volumes });
  await store.put('archive.ini.tmp', root.bytes);
  await store.renameBatch([...renames, ['archive.ini.tmp', 'archive.ini']]);
  archive.ini = root.ini;
  archive.rootBytes = root.bytes;
  for (const { vid } of changes) archive.forgetVolInfo(vid);
  await options.persist?.();
  await store.put('archive.ini.bak', root.bytes);
  for (const [i, { vid }] of changes.entries()) await store.put(`${vid}/volinfo.bak`, itemAt(sealed, i));
}
