// Skiff's local state for one archive, in <meta-dir>/a_<id>/ (default meta-dir /var/lib/skiff):
//   archive.ini      the last root this machine authenticated or wrote: the rollback anchor
//   archive.salt     a copy of the salt file (a replaced salt on the destination is noticed)
//   counters.json    nonce counters reserved by this machine (never reused after a crash)
//   in_process_retry the [in_process] journal this machine tried to complete (see engine/maintain/journal.ts)
//   volumes/<vid>.json   per-volume snapshot pairing state (source/reflink-source.ts, source/lvm-source.ts)
//   volumes/<vid>.deltamap  chunks changed since the paired session, folded in by monitor: one bit
//                        per chunk, LSB first (Wyng's deltamap layout); used while VolumeState.deltamap
// The id hashes the user id, the archive uuid and the destination's identity (dest-url.ts
// destIdentity), so two archives never share state and respelling the URL (file:/x/, file:///x)
// cannot sidestep the rollback anchor with a fresh directory. Earlier versions hashed the URL as
// typed (as Wyng does); such a directory is renamed to the new key the first time it is used.
// Nothing secret is stored here. (The per-destination anchor, readable before unlocking, is
// dest-anchor.ts.)

import { createHash } from 'node:crypto';
import { lstat, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Counters } from '../archive/nonces.js';
import { LocalStore } from '../store/local-store.js';
import { isNotFound } from '../store/store.js';
import { makeDirs } from '../sys/make-dirs.js';

export const DEFAULT_META_DIR = '/var/lib/skiff';

/** What send remembers about a volume between runs. */
export interface VolumeState {
  /** The session the paired snapshot holds (the volume's newest session when it was made). */
  session: string;
  sequence: number;
  /** The paired snapshot: its path, and the mtime (ns) and size it had when it was sent. */
  snapshot: string;
  snapshotMtimeNs: string;
  size: number;
  /** The volume's own mtime (ns) when the snapshot was taken (Node cannot copy it to the ns). */
  volumeMtimeNs: string;
  /** 'lvm': the snapshot is a thin LV "VG/LV.skiff1" (its time is lv_time); absent: a reflink file. */
  kind?: 'lvm';
  /**
   * Monitor took the paired snapshot after `session` and folded the changes since `session` into
   * volumes/<vid>.deltamap: the next send reads those chunks as well as the new delta's.
   */
  deltamap?: boolean;
}

const MAX_DELTAMAP_FILE = 64 * 1024 * 1024;

/** One byte per chunk → one bit per chunk, LSB first. */
export function packDeltamap(changed: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.floor(changed.length / 8) + 1);
  for (let i = 0; i < changed.length; i++) if (changed[i]) out[i >> 3] = (out[i >> 3] ?? 0) | (1 << (i & 7));
  return out;
}

/** The first `chunkCount` bits of a packed map as one byte per chunk (bits past the file are 0). */
export function unpackDeltamap(bits: Uint8Array, chunkCount: number): Uint8Array {
  const out = new Uint8Array(chunkCount);
  const n = Math.min(chunkCount, bits.length * 8);
  for (let i = 0; i < n; i++) out[i] = ((bits[i >> 3] ?? 0) >> (i & 7)) & 1;
  return out;
}

const MAX_STATE_FILE = 1024 * 1024;

/** Renames a state directory kept under the typed URL's key, unless the new one exists already. */
async function migrate(legacy: string, dir: string): Promise<void> {
  if ((await exists(dir)) || !(await exists(legacy))) return;
  await rename(legacy, dir).catch((error: NodeJS.ErrnoException) => {
    // Another run moved it first (or made the new one): either way the new directory is used.
    if (error.code !== 'ENOENT' && error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
  });
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
}

export class LocalState {
  readonly dir: string;
  private readonly files: LocalStore;

  private constructor(dir: string) {
    this.dir = dir;
    this.files = new LocalStore(dir);
  }

  static archiveId(uid: number, uuid: string, url: string): string {
    return createHash('sha256').update(`${uid}\0${uuid}\0${url}`).digest('hex').slice(0, 40);
  }

  /**
   * The state of archive `uuid` at the destination `identity`; `typedUrl` (the --dest text) names
   * the directory an earlier version may have kept it in, which is moved here if this one is new.
   */
  static async open(metaDir: string, uuid: string, identity: string, typedUrl = identity): Promise<LocalState> {
    const uid = process.getuid?.() ?? 0;
    const dir = join(metaDir, `a_${LocalState.archiveId(uid, uuid, identity)}`);
    if (typedUrl !== identity) await migrate(join(metaDir, `a_${LocalState.archiveId(uid, uuid, typedUrl)}`), dir);
    await makeDirs(join(dir, 'volumes'), 0o700);
    return new LocalState(dir);
  }

  private async readOptional(path: string): Promise<Buffer | null> {
    try {
      return await this.files.read(path, MAX_STATE_FILE);
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  cachedRoot(): Promise<Buffer | null> {
    return this.readOptional('archive.ini');
  }

  saveRoot(bytes: Uint8Array): Promise<void> {
    return this.files.put('archive.ini', bytes);
  }

  cachedSalt(): Promise<Buffer | null> {
    return this.readOptional('archive.salt');
  }

  saveSalt(bytes: Uint8Array): Promise<void> {
    return this.files.put('archive.salt', bytes);
  }

  async counters(): Promise<Counters | null> {
    const bytes = await this.readOptional('counters.json');
    if (!bytes) return null;
    // Our own file on this machine; each field is checked below.
    const parsed = JSON.parse(bytes.toString('utf8')) as { data?: unknown; metadata?: unknown };
    if (typeof parsed.data !== 'string' || typeof parsed.metadata !== 'string') return null;
    return { data: BigInt(parsed.data), metadata: BigInt(parsed.metadata) };
  }

  saveCounters(counters: Counters): Promise<void> {
    return this.files.put(
      'counters.json',
      Buffer.from(JSON.stringify({ data: String(counters.data), metadata: String(counters.metadata) })),
    );
  }

  /** The journal of an interrupted operation this machine already tried to complete, or null. */
  async retriedJournal(): Promise<string | null> {
    const bytes = await this.readOptional('in_process_retry');
    return bytes ? bytes.toString('utf8') : null;
  }

  markRetry(journal: string): Promise<void> {
    return this.files.put('in_process_retry', Buffer.from(journal));
  }

  clearRetry(): Promise<void> {
    return this.files.remove('in_process_retry');
  }

  async volume(vid: string): Promise<VolumeState | null> {
    const bytes = await this.readOptional(`volumes/${vid}.json`);
    // Our own file on this machine, written by saveVolume from a VolumeState.
    return bytes ? (JSON.parse(bytes.toString('utf8')) as VolumeState) : null;
  }

  saveVolume(vid: string, state: VolumeState): Promise<void> {
    return this.files.put(`volumes/${vid}.json`, Buffer.from(JSON.stringify(state)));
  }

  async removeVolume(vid: string): Promise<void> {
    await this.files.remove(`volumes/${vid}.deltamap`);
    await this.files.remove(`volumes/${vid}.json`);
  }

  /** The monitor's accumulated map as one byte per chunk (`chunkCount` of them), or null when there is none. */
  async deltamap(vid: string, chunkCount: number): Promise<Uint8Array | null> {
    try {
      return unpackDeltamap(await this.files.read(`volumes/${vid}.deltamap`, MAX_DELTAMAP_FILE), chunkCount);
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  saveDeltamap(vid: string, changed: Uint8Array): Promise<void> {
    return this.files.put(`volumes/${vid}.deltamap`, packDeltamap(changed));
  }

  removeDeltamap(vid: string): Promise<void> {
    return this.files.remove(`volumes/${vid}.deltamap`);
  }
}
