// Publishing a new session (format spec §13, doc/archive-format.md §7): the chunk files are
// already in Vol_x/S-tmp/ (archive/session-staging.ts); one zipper commit
// (archive/transaction.ts) seals the session's manifest and info, stages the volume's new volinfo
// and sessions file, and publishes S-tmp under the session's name with them and the new root.
// Until the last rename the old archive.ini still describes a complete archive; the next write's
// recovery (archive/recovery.ts) finishes or clears an interrupted commit from the destination.

import type { ArchiveWriter } from '../../archive/archive-writer.js';
import type { SessionName, VolumeId } from '../../archive/names.js';
import type { SessionInfo } from '../../archive/session-info.js';
import type { SessionStaging } from '../../archive/session-staging.js';
import { Transaction } from '../../archive/transaction.js';
import type { VolInfo } from '../../archive/volinfo.js';

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

export async function commitSession(writer: ArchiveWriter, staging: SessionStaging, commit: SessionCommit): Promise<void> {
  const transaction = new Transaction(writer, null);
  const infoHash = await transaction.stageSession(staging, commit.session, commit);
  const volinfo: VolInfo = { ...commit.volinfo, sessions: new Map([...commit.volinfo.sessions, [commit.session, infoHash]]) };
  await transaction.stageVolInfo(commit.vid, volinfo, [...commit.sessionOrder, commit.session]);
  await transaction.commit();
}
