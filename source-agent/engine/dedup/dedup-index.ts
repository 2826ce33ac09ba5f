// The deduplication index (format spec §14, behavior spec §4.5): hash → where a chunk file with
// that hash is stored, over every manifest of every session of every volume. Precedence is
// Wyng's: sessions by name, newest first (a stable sort, so sessions of one send keep the
// archive.ini order of their volumes); within a manifest the lowest address; the first
// occurrence wins. A send adds the chunks it writes, so later repeats link to them.
//
// Memory: 16 bytes per indexed chunk (prefix-table.ts: 8-byte hash prefix, session id, chunk
// index), plus 16 more while the build sorts. Manifests are loaded one at a time to build it.
// The full hash is not kept: a prefix match is confirmed against the hash the session's manifest
// records (a few recently used manifests are cached), or for chunks of the send in progress
// against the hashes it computed. So a prefix collision can never link the wrong chunk.

import type { Archive, SessionRecord } from '../../archive/archive.js';
import { HASH_BYTES, hashesEqual } from '../../archive/hash.js';
import { layout, SESSION_TMP } from '../../archive/layout.js';
import type { SessionManifest } from '../../archive/manifest.js';
import type { SessionName, VolumeId } from '../../archive/names.js';
import { IntegrityError, InterruptedError } from '../../errors.js';
import { itemAt } from '../../lookup.js';
import { AddedTable, lowerBound, prefixOf, RecordList, STRIDE, sortByPrefix } from './prefix-table.js';

/** Where the full hashes of a session's chunks come from. */
type HashSource = { kind: 'manifest'; record: SessionRecord } | { kind: 'memory'; hashes: Uint8Array };

interface IndexedSession {
  vid: VolumeId;
  /** The session's directory: S_<name>, or S-tmp while a send writes it. */
  dir: string;
  /** False once its directory was removed (a volume that failed during this send). */
  alive: boolean;
  hashes: HashSource;
}

export interface Location {
  session: number;
  chunk: number;
}

/** Chunk indexes that do not fit the 32-bit field are not indexed (≥ 256 TiB into a volume). */
const MAX_CHUNK_INDEX = 0xfffffffe;
/** Manifest entries kept in the cache for hash confirmation (about 41 bytes each). */
const CACHE_ENTRIES = 2_000_000;

export class DedupIndex {
  private readonly sessions: IndexedSession[] = [];
  /** Records of the archive's sessions, sorted by prefix (stable: precedence within a prefix). */
  private base: Uint32Array = new Uint32Array(0);
  private readonly added = new AddedTable();
  private readonly cache = new Map<number, SessionManifest>();
  private cachedEntries = 0;

  private constructor(private readonly archive: Archive) {}

  /** Indexed chunks (archive sessions only). */
  get size(): number {
    return this.base.length / STRIDE;
  }

  /**
   * Builds the index over every session of every volume of the archive. A volume or manifest
   * that fails its checks is left out with a warning (its chunks are just not linked to).
   */
  static async build(archive: Archive, options: { signal?: AbortSignal | undefined; warn: (text: string) => void }): Promise<DedupIndex> {
    const { signal, warn } = options;
    const index = new DedupIndex(archive);
    const sessions: { vid: VolumeId; record: SessionRecord }[] = [];
    for (const vid of archive.ini.volumes.keys()) {
      try {
        for (const record of (await archive.loadVolume(vid)).sessions) sessions.push({ vid, record });
      } catch (error) {
        if (!(error instanceof IntegrityError)) throw error;
        warn(`Dedup index: skipping ${vid}: ${error.message}`);
      }
    }
    // Array.prototype.sort is stable: equal names keep the volume order, as in Wyng.
    sessions.sort((a, b) => (a.record.name < b.record.name ? 1 : a.record.name > b.record.name ? -1 : 0));
    const list = new RecordList();
    for (const { vid, record } of sessions) {
      if (signal?.aborted) throw new InterruptedError();
      let manifest: SessionManifest;
      try {
        manifest = await archive.loadManifest(vid, record);
      } catch (error) {
        if (!(error instanceof IntegrityError)) throw error;
        warn(`Dedup index: skipping ${vid}/${record.name}: ${error.message}`);
        continue;
      }
      const id = index.sessions.length;
      index.sessions.push({ vid, dir: record.name, alive: true, hashes: { kind: 'manifest', record } });
      for (let n = 0; n < manifest.count; n++) {
        const chunk = manifest.chunkIndexes[n]!;
        if (manifest.isZero[n] || chunk > MAX_CHUNK_INDEX) continue;
        const [hi, lo] = prefixOf(manifest.hashes.subarray(n * HASH_BYTES, (n + 1) * HASH_BYTES));
        list.push(hi, lo, id, chunk);
      }
    }
    index.base = sortByPrefix(list.take());
    return index;
  }

  /** Sessions in precedence order: [vid, directory]. */
  sessionList(): { vid: VolumeId; dir: string; record: SessionRecord | null }[] {
    return this.sessions.map((s) => ({ vid: s.vid, dir: s.dir, record: s.hashes.kind === 'manifest' ? s.hashes.record : null }));
  }

  /** A session being written by this run (S-tmp); `hashes` holds 32 bytes per chunk index. */
  addPendingSession(vid: VolumeId, hashes: Uint8Array): number {
    this.sessions.push({ vid, dir: SESSION_TMP, alive: true, hashes: { kind: 'memory', hashes } });
    return this.sessions.length - 1;
  }

  /** The pending session was published as `name`; its hashes now come from its manifest. */
  published(session: number, name: SessionName, record: SessionRecord | null): void {
    const s = itemAt(this.sessions, session);
    s.dir = name;
    if (record) s.hashes = { kind: 'manifest', record };
  }

  /** The session's directory is gone: its chunks can no longer be linked to. */
  abandoned(session: number): void {
    itemAt(this.sessions, session).alive = false;
    const cached = this.cache.get(session);
    if (cached) this.cachedEntries -= cached.count;
    this.cache.delete(session);
  }

  /** Archive path of an indexed chunk. */
  path(location: Location, chunkSize: number): string {
    const s = itemAt(this.sessions, location.session);
    const address = location.chunk * chunkSize;
    return layout.chunkUnder(layout.volumeEntry(s.vid, s.dir), address);
  }

  /** The stored chunk with this hash that takes precedence, or null. */
  async find(hash: Uint8Array): Promise<Location | null> {
    const [hi, lo] = prefixOf(hash);
    const base = this.base;
    for (let pos = lowerBound(base, hi, lo); pos * STRIDE < base.length; pos++) {
      const at = pos * STRIDE;
      if (base[at] !== hi || base[at + 1] !== lo) break;
      const location = { session: base[at + 2]!, chunk: base[at + 3]! };
      if (await this.holds(location, hash)) return location;
    }
    for (const slot of this.added.slotsFor(hi, lo)) {
      const location = { session: this.added.session(slot), chunk: this.added.chunk(slot) };
      if (await this.holds(location, hash)) return location;
    }
    return null;
  }

  /** Records a chunk this run stored (after `find` missed). */
  add(hash: Uint8Array, location: Location): void {
    if (location.chunk > MAX_CHUNK_INDEX) return;
    const [hi, lo] = prefixOf(hash);
    this.added.add(hi, lo, location.session, location.chunk);
  }

  /**
   * Later links for `hash` go to `to` instead of `from` (the file at `from` cannot take more
   * links, or is missing).
   */
  substitute(hash: Uint8Array, from: Location, to: Location): void {
    const [hi, lo] = prefixOf(hash);
    const base = this.base;
    for (let pos = lowerBound(base, hi, lo); pos * STRIDE < base.length; pos++) {
      const at = pos * STRIDE;
      if (base[at] !== hi || base[at + 1] !== lo) break;
      if (base[at + 2] === from.session && base[at + 3] === from.chunk) {
        base[at + 2] = to.session;
        base[at + 3] = to.chunk;
        return;
      }
    }
    for (const slot of this.added.slotsFor(hi, lo)) {
      if (this.added.session(slot) === from.session && this.added.chunk(slot) === from.chunk) {
        this.added.setLocation(slot, to.session, to.chunk);
        return;
      }
    }
  }

  /** Whether the chunk at `location` is live and has exactly this hash. */
  private async holds(location: Location, hash: Uint8Array): Promise<boolean> {
    const session = itemAt(this.sessions, location.session);
    if (!session.alive) return false;
    const full = await this.hashAt(location);
    return full !== null && hashesEqual(full, hash);
  }

  /** The full hash a session records for a chunk index (null: not listed, or zero). */
  async hashAt(location: Location): Promise<Uint8Array | null> {
    const session = itemAt(this.sessions, location.session);
    if (session.hashes.kind === 'memory') {
      const at = location.chunk * HASH_BYTES;
      return session.hashes.hashes.subarray(at, at + HASH_BYTES);
    }
    const manifest = await this.manifest(location.session, session.vid, session.hashes.record);
    const n = findChunk(manifest.chunkIndexes, location.chunk);
    if (n < 0 || manifest.isZero[n]) return null;
    return manifest.hashes.subarray(n * HASH_BYTES, (n + 1) * HASH_BYTES);
  }

  /** A session's manifest, from a small most-recently-used cache. */
  async manifest(session: number, vid: VolumeId, record: SessionRecord): Promise<SessionManifest> {
    const cached = this.cache.get(session);
    if (cached) {
      this.cache.delete(session);
      this.cache.set(session, cached);
      return cached;
    }
    const manifest = await this.archive.loadManifest(vid, record);
    for (const [id, old] of this.cache) {
      if (this.cachedEntries + manifest.count <= CACHE_ENTRIES) break;
      this.cache.delete(id);
      this.cachedEntries -= old.count;
    }
    this.cache.set(session, manifest);
    this.cachedEntries += manifest.count;
    return manifest;
  }
}

/** Position of a chunk index in a manifest's ascending chunk indexes, or -1. */
function findChunk(indexes: Float64Array, chunk: number): number {
  let low = 0;
  let high = indexes.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const value = indexes[mid]!;
    if (value === chunk) return mid;
    if (value < chunk) low = mid + 1;
    else high = mid - 1;
  }
  return -1;
}
