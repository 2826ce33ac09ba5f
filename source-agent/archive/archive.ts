// Opening a V3 archive and reading its objects with every check, walking the hash chain down
// from the authenticated root (spec §1, §5):
//   archive.ini → volinfo → info → manifest.z → chunk
// Each object is validated in the order the spec requires before it is used: size bound,
// decryption and authentication, constant-time hash compare, then decompression, then parsing.
// Everything read from the store is untrusted until it has passed those steps.

import { timingSafeEqual } from 'node:crypto';
import { asError, messageOf } from '../../protocol/thrown.js';
import { ArchiveNotFoundError, AuthenticationError, FatalError, IntegrityError } from '../errors.js';
import { itemAt } from '../lookup.js';
import { isNotFound, type Store, StoreError } from '../store/store.js';
import {
  type ArchiveIni,
  ArchiveIniError,
  gunzipBody,
  HEADER_BYTES,
  MAX_BODY_BYTES,
  parseArchiveIniText,
  parseHeader,
} from './archive-ini.js';
import { type ChunkOpener, maxChunkFileBytes, openChunkFile } from './chunk-file.js';
import { type Codec, DecompressError, decompressBounded, makeCodec } from './compression/index.js';
import type { CipherMode } from './crypto/cipher-modes.js';
import { xchacha20Poly1305Open } from './crypto/xchacha20.js';
import { METADATA_OVERHEAD, openMetadataEnvelope } from './envelope.js';
import { type DataHasher, dataHasherFor, decodeHash, hashesEqual, initHashing, metadataHash } from './hash.js';
import { type ArchiveKeys, deriveMetadataKey, deriveRootKeys, deriveSubkeys, type RootKeys } from './keys.js';
import { layout } from './layout.js';
import { ManifestError, maxManifestBytes, parseManifest, type SessionManifest } from './manifest.js';
import type { SessionName, VolumeId } from './names.js';
import { parseSaltFile, SALT_FILE_BYTES, type SaltFile, SaltFormatError, saltDigest } from './salt.js';
import { MAX_INFO_BYTES, MAX_INFO_TEXT, parseSessionInfo, type SessionInfo, SessionInfoError } from './session-info.js';
import { MAX_VOLINFO_BYTES, MAX_VOLINFO_TEXT, parseVolInfo, type VolInfo, VolInfoError } from './volinfo.js';

export interface SessionRecord {
  readonly name: SessionName;
  readonly info: SessionInfo;
}

export interface Volume {
  readonly vid: VolumeId;
  readonly name: string;
  readonly desc: string;
  /** Ordered by `sequence`, oldest first. */
  readonly sessions: readonly SessionRecord[];
}

export interface OpenOptions {
  /** Supplies the passphrase (UTF-8 bytes); called once, and only for encrypted archives. */
  passphrase: () => Promise<Uint8Array>;
  /** Root keys from an earlier unlock, tried before asking for the passphrase. */
  rootKeys?: RootKeys;
  /**
   * A passphrase the user gave although `rootKeys` may make it unneeded (piped, --passcmd), or
   * null: when the root keys open archive.ini, a given passphrase must still derive the same
   * metadata key, or the open fails (AuthenticationError) — a wrong one never "works".
   */
  givenPassphrase?: () => Promise<Uint8Array | null>;
  /** Called as a key derivation (seconds of scrypt) starts; what it returns, as it ends. */
  onDeriving?: () => () => void;
  /** Current Unix time in seconds (injectable for tests). */
  now?: () => number;
  /**
   * Sees the cipher mode named by archive.ini's (unauthenticated) header before anything else is
   * read or asked: throwing stops the open before a passphrase is requested.
   */
  checkHeader?: (untrustedMode: CipherMode) => void;
}

/** The largest archive.ini a reader accepts: header, body bound, envelope. */
export const MAX_ROOT_FILE_BYTES = HEADER_BYTES + MAX_BODY_BYTES + METADATA_OVERHEAD;

export class Archive {
  readonly store: Store;
  /** The root as last read or written (a writer replaces it after each commit). */
  ini: ArchiveIni;
  readonly codec: Codec;
  readonly dataHasher: DataHasher;
  /** What opening a chunk file needs (openChunk). */
  private readonly chunkOpener: ChunkOpener;
  /** Keys of an encrypted archive; null for an unencrypted one. */
  readonly keys: ArchiveKeys | null;
  /** archive.salt as read (encrypted archives). */
  readonly salt: SaltFile | null;
  /** The archive.ini file exactly as read, for the local rollback check. */
  rootBytes: Buffer;
  private readonly volinfos = new Map<VolumeId, VolInfo>();

  /** Builds an Archive from already-checked parts (Archive.open, or a newly created archive). */
  constructor(store: Store, ini: ArchiveIni, keys: ArchiveKeys | null, salt: SaltFile | null, rootBytes: Buffer) {
    this.store = store;
    this.ini = ini;
    this.keys = keys;
    this.salt = salt;
    this.rootBytes = rootBytes;
    this.codec = makeCodec(ini.compression, ini.compressionLevel);
    this.dataHasher = dataHasherFor(keys?.manifestHashKey ?? null);
    this.chunkOpener = { dataKey: keys?.dataKey ?? null, hasher: this.dataHasher, codec: this.codec };
  }

  get encrypted(): boolean {
    return this.keys !== null;
  }

  get chunkSize(): number {
    return this.ini.chunkSize;
  }

  /** Largest chunk file a reader accepts (spec §11), envelope included. */
  get maxChunkFileBytes(): number {
    return maxChunkFileBytes(this.ini.chunkSize);
  }

  static async open(store: Store, options: OpenOptions): Promise<Archive> {
    await initHashing();
    const file = await readRoot(store);
    let mode: ReturnType<typeof parseHeader>;
    try {
      mode = parseHeader(file);
    } catch (error) {
      throw new IntegrityError('archive.ini', messageOf(error));
    }
    options.checkHeader?.(mode);
    const body = file.subarray(HEADER_BYTES);
    let keys: ArchiveKeys | null = null;
    let salt: SaltFile | null = null;
    let gzipped = body;
    if (mode.encrypted) {
      salt = await readSalt(store);
      const unlocked = await unlock(body, salt, options);
      keys = await deriveSubkeys(unlocked.root, salt, mode);
      gzipped = unlocked.plaintext;
      const record = xchacha20Poly1305Open(keys.metadataKey, salt.record.nonce, salt.record.ciphertext, salt.record.tag);
      if (!record || !hashesEqual(record, saltDigest(salt.salts))) {
        throw new AuthenticationError('archive.salt failed authentication: it was damaged or replaced.');
      }
    }
    let ini: ArchiveIni;
    try {
      ini = parseArchiveIniText(gunzipBody(gzipped), mode);
    } catch (error) {
      if (error instanceof ArchiveIniError) throw new IntegrityError('archive.ini', error.message);
      throw error;
    }
    const now = (options.now ?? (() => Date.now() / 1000))();
    if (mode.encrypted && Number(ini.updatedAt) >= now) {
      // Wyng refuses too: a timestamp from the future means a wrong clock or a replayed root.
      throw new FatalError(`Current time is less than archive timestamp (${ini.updatedAt}); check the clock.`);
    }
    return new Archive(store, ini, keys, salt, file);
  }

  /**
   * Decodes another archive.ini of this archive (a cached or temporary copy) with this archive's
   * keys and the same checks as the root. Throws IntegrityError naming `label`.
   */
  decodeRoot(bytes: Buffer, label: string): ArchiveIni {
    try {
      const mode = parseHeader(bytes);
      let gzipped: Buffer = bytes.subarray(HEADER_BYTES);
      if (mode.encrypted) {
        if (!this.keys) throw new ArchiveIniError('encrypted, but the archive is not');
        const opened = openMetadataEnvelope(this.keys.metadataKey, gzipped);
        if (!opened) throw new ArchiveIniError('failed authentication');
        gzipped = opened;
      }
      return parseArchiveIniText(gunzipBody(gzipped), mode);
    } catch (error) {
      if (error instanceof ArchiveIniError) throw new IntegrityError(label, error.message);
      throw error;
    }
  }

  /** The root keys (what an auth agent keeps); null for an unencrypted archive. */
  get rootKeys(): RootKeys | null {
    return this.keys ? { dataKey: this.keys.dataKey, metadataKey: this.keys.metadataKey } : null;
  }

  /** Forgets cached volinfo after the archive was written. */
  forgetVolInfo(vid: VolumeId): void {
    this.volinfos.delete(vid);
  }

  /**
   * Reads a metadata object and returns its decompressed plaintext after the full check chain.
   * `maxFileBytes` is the bound before the envelope; `expectedHash` comes from the parent.
   */
  async readMetadata(path: string, expectedHash: string, maxFileBytes: number, maxPlainBytes: number): Promise<Buffer> {
    const expected = decodeHash(expectedHash);
    if (!expected) throw new IntegrityError(path, 'parent holds a malformed hash');
    const overhead = this.keys ? METADATA_OVERHEAD : 0;
    const file = await readObject(this.store, path, maxFileBytes + overhead);
    if (file.length <= overhead) throw new IntegrityError(path, `too short (${file.length} bytes)`);
    const compressed = this.keys ? openMetadataEnvelope(this.keys.metadataKey, file) : file;
    if (!compressed) throw new IntegrityError(path, 'failed authentication (damaged or tampered)');
    if (!hashesEqual(metadataHash(compressed), expected)) throw new IntegrityError(path, 'hash does not match the one its parent records');
    try {
      return decompressBounded(this.codec, compressed, maxPlainBytes);
    } catch (error) {
      if (error instanceof DecompressError) throw new IntegrityError(path, `does not decompress (${error.message})`);
      throw error;
    }
  }

  /** Reads and checks a volume's volinfo (cached: a run reads each volinfo once). */
  async readVolInfo(vid: VolumeId): Promise<VolInfo> {
    const cached = this.volinfos.get(vid);
    if (cached) return cached;
    const hash = this.ini.volumes.get(vid);
    if (!hash) throw new Error(`${vid} is not in this archive`);
    const path = layout.volinfo(vid);
    const text = await this.readMetadata(path, hash, MAX_VOLINFO_BYTES, MAX_VOLINFO_TEXT);
    try {
      const volinfo = parseVolInfo(text.toString('utf8'));
      this.volinfos.set(vid, volinfo);
      return volinfo;
    } catch (error) {
      if (error instanceof VolInfoError) throw new IntegrityError(path, error.message);
      throw error;
    }
  }

  /** Whether the volinfo on the destination passes its checks against `expectedHash`. */
  async volInfoMatches(vid: VolumeId, expectedHash: string): Promise<boolean> {
    try {
      await this.readMetadata(layout.volinfo(vid), expectedHash, MAX_VOLINFO_BYTES, MAX_VOLINFO_TEXT);
      return true;
    } catch (error) {
      if (error instanceof IntegrityError) return false;
      throw error;
    }
  }

  /** Loads a volume: its volinfo and every session's info, and checks the session chain. */
  async loadVolume(vid: VolumeId): Promise<Volume> {
    const volinfo = await this.readVolInfo(vid);
    const sessions: SessionRecord[] = [];
    for (const [name, infoHash] of volinfo.sessions) {
      sessions.push({ name, info: await this.readSessionInfo(layout.sessionInfo(vid, name), infoHash) });
    }
    sessions.sort((a, b) => a.info.sequence - b.info.sequence);
    checkSessionChain(layout.volinfo(vid), sessions);
    return { vid, name: volinfo.name, desc: volinfo.desc, sessions };
  }

  /** Reads and checks a session's info at `path` (its usual place, or where a prune moved it). */
  async readSessionInfo(path: string, expectedHash: string): Promise<SessionInfo> {
    const text = await this.readMetadata(path, expectedHash, MAX_INFO_BYTES, MAX_INFO_TEXT);
    try {
      return parseSessionInfo(text.toString('utf8'));
    } catch (error) {
      if (error instanceof SessionInfoError) throw new IntegrityError(path, error.message);
      throw error;
    }
  }

  /** Loads and checks a session's manifest; an empty one (manifesthash 0) has no file. */
  loadManifest(vid: VolumeId, session: SessionRecord): Promise<SessionManifest> {
    return this.readManifestAt(layout.manifest(vid, session.name), session.info);
  }

  /** Reads and checks the manifest at `path` against `info` (its hash and volume size). */
  async readManifestAt(path: string, info: SessionInfo): Promise<SessionManifest> {
    if (info.manifestHash === null) return parseManifest(Buffer.alloc(0), this.chunkSize, info.volsize);
    const bound = maxManifestBytes(info.volsize, this.chunkSize);
    const text = await this.readMetadata(path, info.manifestHash, bound, bound);
    try {
      return parseManifest(text, this.chunkSize, info.volsize);
    } catch (error) {
      if (error instanceof ManifestError) throw new IntegrityError(path, error.message);
      throw error;
    }
  }

  /**
   * Validates a chunk file already read into memory and decompresses it into `out`, which must
   * be exactly the chunk's size. `scratch` (≥ chunk file size) is reused for the decryption.
   */
  openChunk(path: string, file: Buffer, expectedHash: Uint8Array, out: Buffer, scratch: Buffer): void {
    openChunkFile(this.chunkOpener, path, file, expectedHash, out, scratch);
  }
}

/** Reads a file that must exist, mapping store failures to integrity errors on `path`. */
export async function readObject(store: Store, path: string, maxBytes: number): Promise<Buffer> {
  try {
    return await store.read(path, maxBytes);
  } catch (error) {
    throw objectReadError(path, error);
  }
}

export function objectReadError(path: string, error: unknown): Error {
  if (!(error instanceof StoreError)) return asError(error);
  if (error.code === 'ENOENT') return new IntegrityError(path, 'missing');
  if (error.code === 'TOO_LARGE') return new IntegrityError(path, 'larger than the format allows');
  // Anything else is the destination failing (I/O, permissions, a lost helper): exit 5.
  return error;
}

async function readRoot(store: Store): Promise<Buffer> {
  try {
    return await store.read('archive.ini', MAX_ROOT_FILE_BYTES);
  } catch (error) {
    if (isNotFound(error)) throw new ArchiveNotFoundError(`Archive not found at '${store.url}'`);
    throw objectReadError('archive.ini', error);
  }
}

async function readSalt(store: Store): Promise<ReturnType<typeof parseSaltFile>> {
  const bytes = await readObject(store, layout.archiveSalt, SALT_FILE_BYTES);
  try {
    return parseSaltFile(bytes);
  } catch (error) {
    if (error instanceof SaltFormatError) throw new IntegrityError(layout.archiveSalt, error.message);
    throw error;
  }
}

async function unlock(
  body: Uint8Array,
  salt: ReturnType<typeof parseSaltFile>,
  options: OpenOptions,
): Promise<{ root: RootKeys; plaintext: Buffer }> {
  if (options.rootKeys) {
    const plaintext = openMetadataEnvelope(options.rootKeys.metadataKey, body);
    if (plaintext) {
      const given = await options.givenPassphrase?.();
      if (given && given.length > 0) {
        const metadataKey = await deriving(options, () => deriveMetadataKey(given, salt));
        if (!timingSafeEqual(metadataKey, options.rootKeys.metadataKey)) throw new AuthenticationError(WRONG_PASSPHRASE);
      }
      return { root: options.rootKeys, plaintext };
    }
  }
  const passphrase = await options.passphrase();
  if (passphrase.length === 0) throw new AuthenticationError('No authentication input.');
  const root = await deriving(options, () => deriveRootKeys(passphrase, salt));
  const plaintext = openMetadataEnvelope(root.metadataKey, body);
  if (!plaintext) throw new AuthenticationError(WRONG_PASSPHRASE);
  return { root, plaintext };
}

const WRONG_PASSPHRASE = 'Could not decrypt/authenticate archive (wrong passphrase, or archive.ini or archive.salt was changed).';

async function deriving<T>(options: OpenOptions, work: () => Promise<T>): Promise<T> {
  const done = options.onDeriving?.();
  try {
    return await work();
  } finally {
    done?.();
  }
}

/** Sessions sorted by sequence must chain through `previous` (spec §12.2). */
export function checkSessionChain(where: string, sessions: readonly SessionRecord[]): void {
  for (let i = 0; i < sessions.length; i++) {
    const s = itemAt(sessions, i);
    const before = sessions[i - 1];
    if (before && before.info.sequence === s.info.sequence) {
      throw new IntegrityError(where, `sessions ${before.name} and ${s.name} share sequence ${s.info.sequence}`);
    }
    const expected = before ? before.name : null;
    if (s.info.previous !== expected) {
      throw new IntegrityError(
        where,
        `session ${s.name} says previous = ${s.info.previous ?? 'None'}, expected ${expected ?? 'None'} (session out of sequence)`,
      );
    }
  }
}
