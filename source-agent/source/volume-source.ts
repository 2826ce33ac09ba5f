// Where send reads a volume from, and what it knows about changes since the archive's newest
// session. Implementations: reflink snapshots on Btrfs/XFS (reflink-source.ts) and plain files or
// block devices read whole (import-source.ts).

import type { LocalState } from '../state/local-state.js';
import { groupName, userName } from '../sys/accounts.js';

/** The newest session of a volume, as the sources need it. */
export interface LastSession {
  name: string;
  sequence: number;
  volsize: number;
  permissions: string;
}

/** What every source is asked about a volume (send and monitor, reflink and LVM). */
export interface VolumeRequest<Pool> {
  pool: Pool;
  name: string;
  vid: string;
  uuid: string;
  chunkSize: number;
  state: LocalState;
  /** The archive's newest session of this volume, or null for a new volume. */
  last: LastSession | null;
}

export interface PreparedVolume {
  /** The bytes to send: a snapshot, or the import path. */
  readonly path: string;
  readonly size: number;
  /** `localtime` of the new session (ns). */
  readonly mtimeNs: bigint;
  /** `permissions` of the new session. */
  readonly permissions: string;
  /**
   * Chunks that may differ from the newest session (1 = read it), or null to read every chunk
   * and compare hashes (first send, lost pairing, imports).
   */
  readonly changed: Uint8Array | null;
  /** Nothing changed since the newest session, known without reading (no snapshot was taken). */
  readonly unchanged: boolean;
  /** Import volumes get a session on every send, as in Wyng. */
  readonly alwaysSession: boolean;
  /** The volume's newest session is now `session` (just sent, or unchanged): keep the pairing. */
  commit(session: string, sequence: number): Promise<void>;
  /** Undo what prepare did (failed or dry-run send). */
  discard(): Promise<void>;
}

/** "<mode>:<user>:<group>" as Wyng writes it; numeric ids where names would not load in Wyng. */
export function permissionsOf(mode: number, uid: number, gid: number): string {
  const user = userName(uid);
  const group = groupName(gid);
  // Wyng 0.8 cannot load an archive whose user/group names are not alphanumeric (format spec §9).
  const safe = (name: string | null, id: number) => (name !== null && /^[A-Za-z0-9]+$/.test(name) ? name : String(id));
  return `${mode & 0o7777}:${safe(user, uid)}:${safe(group, gid)}`;
}
