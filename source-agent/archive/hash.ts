// The two hash functions of the V3 format (spec §5): the metadata hash (unkeyed BLAKE2b-256,
// always) and the data hash (HMAC-SHA256 keyed with the manifest-hash key in encrypted archives,
// unkeyed BLAKE2b-256 otherwise). Both are over compressed bytes, never ciphertext.
//
// node:crypto cannot compute BLAKE2b-256 (its blake2b512 has the digest length in the parameter
// block), so BLAKE2b comes from hash-wasm (~500 MB/s); @noble/hashes is the test oracle.

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IHasher } from 'hash-wasm';

export const HASH_BYTES = 32;

let blake2b256: IHasher | undefined;

/** Loads the WASM hasher once; every entry point that reads an archive calls this first. */
export async function initHashing(): Promise<void> {
  // Loaded on demand: send workers of encrypted archives never need BLAKE2b.
  if (!blake2b256) blake2b256 = await (await import('hash-wasm')).createBLAKE2b(256);
}

function blake(): IHasher {
  if (!blake2b256) throw new Error('initHashing() was not awaited');
  return blake2b256;
}

/** Unkeyed BLAKE2b with a 32-byte digest. Synchronous once initHashing() has run. */
export function blake2b256Digest(data: Uint8Array): Buffer {
  const h = blake();
  h.init();
  h.update(data);
  return Buffer.from(h.digest('binary'));
}

/** Hm: the metadata hash of volinfo, info and manifest.z (compressed plaintext). */
export function metadataHash(compressed: Uint8Array): Buffer {
  return blake2b256Digest(compressed);
}

/** Hd: computes the data hash of a compressed chunk. */
export interface DataHasher {
  readonly name: 'hmac-sha256' | 'blake2b';
  digest(compressed: Uint8Array): Buffer;
}

export function hmacSha256DataHasher(manifestHashKey: Uint8Array): DataHasher {
  const key = Buffer.from(manifestHashKey);
  return {
    name: 'hmac-sha256',
    digest: (compressed) => createHmac('sha256', key).update(compressed).digest(),
  };
}

export const blake2bDataHasher: DataHasher = { name: 'blake2b', digest: blake2b256Digest };

/** The chunk hash of an archive: HMAC-SHA256 under its manifest hash key, BLAKE2b when unencrypted. */
export function dataHasherFor(manifestHashKey: Uint8Array | null): DataHasher {
  return manifestHashKey ? hmacSha256DataHasher(manifestHashKey) : blake2bDataHasher;
}

/** Constant-time comparison of two digests (false for different lengths). */
export function hashesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

const HASH_TEXT = /^[A-Za-z0-9_-]{43}=$/;

/** b64(digest): URL-safe base64 with padding, 44 characters (spec §3.1). */
export function encodeHash(digest: Uint8Array): string {
  if (digest.length !== HASH_BYTES) throw new RangeError('hash must be 32 bytes');
  return `${Buffer.from(digest.buffer, digest.byteOffset, digest.length).toString('base64url')}=`;
}

/**
 * Decodes a 44-character hash string. Returns null unless it is in canonical form (the form
 * encodeHash produces), so that re-encoding a decoded hash always gives back the same text —
 * merged manifests and their CRC depend on that.
 */
export function decodeHash(text: string): Buffer | null {
  if (!HASH_TEXT.test(text)) return null;
  const digest = Buffer.from(text.slice(0, 43), 'base64url');
  if (digest.length !== HASH_BYTES || encodeHash(digest) !== text) return null;
  return digest;
}
