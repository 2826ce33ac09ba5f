// The byte envelopes of encrypted objects (spec §4.6):
//   metadata file / archive.ini body / salt record:  nonce(24) ‖ tag(16) ‖ XChaCha20-Poly1305_Km(c)
//   data chunk:                                       nonce(24) ‖ XChaCha20_Kd(c)   (no tag)
// where c is the compressed plaintext. Unencrypted archives store c as it is. Chunks carry no
// tag: they are authenticated by their keyed hash in the manifest, checked by the caller.

import { POLY1305_TAG_BYTES, XCHACHA_NONCE_BYTES, xchacha20Poly1305Open, xchacha20Poly1305Seal, xchacha20Xor } from './crypto/xchacha20.js';

export const METADATA_OVERHEAD = XCHACHA_NONCE_BYTES + POLY1305_TAG_BYTES;
export const CHUNK_OVERHEAD = XCHACHA_NONCE_BYTES;

/** Opens an AEAD metadata envelope; null if it is too short or fails authentication. */
export function openMetadataEnvelope(metadataKey: Uint8Array, file: Uint8Array): Buffer | null {
  if (file.length < METADATA_OVERHEAD) return null;
  const nonce = file.subarray(0, XCHACHA_NONCE_BYTES);
  const tag = file.subarray(XCHACHA_NONCE_BYTES, METADATA_OVERHEAD);
  return xchacha20Poly1305Open(metadataKey, nonce, file.subarray(METADATA_OVERHEAD), tag);
}

export function sealMetadataEnvelope(metadataKey: Uint8Array, nonce: Uint8Array, compressed: Uint8Array): Buffer {
  const { ciphertext, tag } = xchacha20Poly1305Seal(metadataKey, nonce, compressed);
  return Buffer.concat([nonce, tag, ciphertext]);
}

/**
 * Decrypts a chunk file into `out` (reused across chunks) and returns the compressed bytes.
 * The caller must compare their data hash with the manifest before trusting them.
 */
export function openChunkEnvelope(dataKey: Uint8Array, file: Uint8Array, out?: Buffer): Buffer {
  if (file.length < CHUNK_OVERHEAD) throw new RangeError('chunk shorter than its nonce');
  return xchacha20Xor(dataKey, file.subarray(0, CHUNK_OVERHEAD), file.subarray(CHUNK_OVERHEAD), out);
}

export function sealChunkEnvelope(dataKey: Uint8Array, nonce: Uint8Array, compressed: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(CHUNK_OVERHEAD + compressed.length);
  out.set(nonce, 0);
  xchacha20Xor(dataKey, nonce, compressed, out.subarray(CHUNK_OVERHEAD));
  return out;
}
