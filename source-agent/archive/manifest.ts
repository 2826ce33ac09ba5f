// manifest.z plaintext (spec §10.1): one line per listed chunk, ascending by address,
//   "<44-char hash> x<16 hex>\n"  or  "0 x<16 hex>\n"  (an all-zero chunk, no file).
// Parsed straight from bytes into typed arrays (~41 bytes per entry) instead of strings, so a
// terabyte volume's manifest does not become millions of JS objects.

import { decodeHash, encodeHash, HASH_BYTES } from './hash.js';
import { chunkFileName } from './names.js';

export interface SessionManifest {
  readonly count: number;
  /** Chunk index (address / chunk size) of each entry, ascending. */
  readonly chunkIndexes: Float64Array;
  /** 32 bytes per entry; all zero for a zero entry. */
  readonly hashes: Uint8Array;
  /** 1 where the entry is "0" (an all-zero chunk). */
  readonly isZero: Uint8Array;
}

export class ManifestError extends Error {}

const HASH_LINE = 44 + 2 + 16; // without the newline
const ZERO_LINE = 1 + 2 + 16;
const LF = 0x0a;

/** Upper bound of a manifest's plaintext size for a volume (Wyng: 72 bytes a chunk). */
export function maxManifestBytes(volsize: number, chunkSize: number): number {
  return (Math.floor(volsize / chunkSize) + 1) * 72;
}

function parseHex16(bytes: Uint8Array, at: number): number | null {
  let value = 0;
  for (let i = 0; i < 16; i++) {
    const c = bytes[at + i]!;
    const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (digit < 0) return null;
    value = value * 16 + digit;
  }
  return Number.isSafeInteger(value) ? value : null;
}

/**
 * Parses a manifest and checks every line: syntax, canonical hash text, addresses aligned to
 * the chunk size, strictly ascending, and inside the session's volume size.
 */
export function parseManifest(text: Uint8Array, chunkSize: number, volsize: number): SessionManifest {
  // Count lines first so the typed arrays are allocated once.
  let lines = 0;
  for (let i = 0; i < text.length; i++) if (text[i] === LF) lines++;
  if (text.length > 0 && text[text.length - 1] !== LF) throw new ManifestError('does not end with a newline');
  const chunkIndexes = new Float64Array(lines);
  const hashes = new Uint8Array(lines * HASH_BYTES);
  const isZero = new Uint8Array(lines);
  let pos = 0;
  let previous = -1;
  for (let n = 0; n < lines; n++) {
    const end = text.indexOf(LF, pos);
    const length = end - pos;
    let addressAt: number;
    if (length === ZERO_LINE && text[pos] === 0x30) {
      isZero[n] = 1;
      addressAt = pos + 1;
    } else if (length === HASH_LINE) {
      const hash = decodeHash(Buffer.from(text.subarray(pos, pos + 44)).toString('latin1'));
      if (!hash) throw new ManifestError(`line ${n + 1}: bad hash`);
      hashes.set(hash, n * HASH_BYTES);
      addressAt = pos + 44;
    } else {
      throw new ManifestError(`line ${n + 1}: malformed`);
    }
    if (text[addressAt] !== 0x20 || text[addressAt + 1] !== 0x78) throw new ManifestError(`line ${n + 1}: malformed`);
    const address = parseHex16(text, addressAt + 2);
    if (address === null) throw new ManifestError(`line ${n + 1}: bad address`);
    if (address % chunkSize !== 0) throw new ManifestError(`line ${n + 1}: ${chunkFileName(address)} is not chunk-aligned`);
    const index = address / chunkSize;
    if (index <= previous) throw new ManifestError(`line ${n + 1}: ${chunkFileName(address)} out of order`);
    if (address >= volsize) throw new ManifestError(`line ${n + 1}: ${chunkFileName(address)} beyond volume size ${volsize}`);
    chunkIndexes[n] = index;
    previous = index;
    pos = end + 1;
  }
  return { count: lines, chunkIndexes, hashes, isZero };
}

/** One manifest line, as written in manifests and merged manifests. */
export function manifestLine(hash: Uint8Array | null, address: number): string {
  return `${hash ? encodeHash(hash) : '0'} ${chunkFileName(address)}\n`;
}

export function formatManifest(manifest: SessionManifest, chunkSize: number): string {
  let out = '';
  for (let n = 0; n < manifest.count; n++) {
    const hash = manifest.isZero[n] ? null : manifest.hashes.subarray(n * HASH_BYTES, (n + 1) * HASH_BYTES);
    out += manifestLine(hash, manifest.chunkIndexes[n]! * chunkSize);
  }
  return out;
}

/** Bytes of one manifest line: a hash line, and a zero chunk's line. */
export const HASH_LINE_BYTES = 63;
export const ZERO_LINE_BYTES = 20;

const BASE64URL = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', 'latin1');
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/**
 * Writes manifestLine(hash, address) into `out` at `at`, byte for byte, and returns its length:
 * the send's commit writes one line per chunk of the volume (the manifest, and the merged
 * manifest's CRC), so this makes no string on the way.
 */
export function writeManifestLine(out: Uint8Array, at: number, hash: Uint8Array | null, address: number): number {
  let p = at;
  if (hash) {
    if (hash.length !== HASH_BYTES) throw new RangeError('hash must be 32 bytes');
    // Base64url of 32 bytes: ten groups of three, then two bytes in three characters, and '='.
    let i = 0;
    for (; i < 30; i += 3) {
      const n = (hash[i]! << 16) | (hash[i + 1]! << 8) | hash[i + 2]!;
      out[p++] = BASE64URL[n >> 18]!;
      out[p++] = BASE64URL[(n >> 12) & 63]!;
      out[p++] = BASE64URL[(n >> 6) & 63]!;
      out[p++] = BASE64URL[n & 63]!;
    }
    const n = (hash[30]! << 8) | hash[31]!;
    out[p++] = BASE64URL[n >> 10]!;
    out[p++] = BASE64URL[(n >> 4) & 63]!;
    out[p++] = BASE64URL[(n << 2) & 63]!;
    out[p++] = 0x3d; // =
  } else {
    out[p++] = 0x30; // 0
  }
  out[p++] = 0x20;
  out[p++] = 0x78; // x
  // Sixteen hex digits: the high and the low 32 bits (addresses stay below 2^53).
  const high = Math.floor(address / 2 ** 32);
  const low = address >>> 0;
  for (let shift = 28; shift >= 0; shift -= 4) out[p++] = HEX[(high >>> shift) & 15]!;
  for (let shift = 28; shift >= 0; shift -= 4) out[p++] = HEX[(low >>> shift) & 15]!;
  out[p++] = 0x0a;
  return p - at;
}

/** Manifest text as bytes (63 bytes per hash line, 20 per zero line): what parseManifest reads. */
export function manifestBytes(manifest: SessionManifest, chunkSize: number): Buffer {
  let size = 0;
  for (let n = 0; n < manifest.count; n++) size += manifest.isZero[n] ? ZERO_LINE_BYTES : HASH_LINE_BYTES;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let n = 0; n < manifest.count; n++) {
    const hash = manifest.isZero[n] ? null : manifest.hashes.subarray(n * HASH_BYTES, (n + 1) * HASH_BYTES);
    at += writeManifestLine(out, at, hash, manifest.chunkIndexes[n]! * chunkSize);
  }
  return out;
}
