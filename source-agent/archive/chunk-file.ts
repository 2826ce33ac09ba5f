// Opening one chunk file (format spec §11): decrypt, check the hash the manifest gives, and
// decompress to exactly the chunk's size. Shared by the archive (main thread) and the restore
// decode workers, so both apply the same checks in the same order.

import { IntegrityError } from '../errors.js';
import { type Codec, DecompressError } from './compression/index.js';
import { CHUNK_OVERHEAD, openChunkEnvelope } from './envelope.js';
import { type DataHasher, hashesEqual } from './hash.js';

/**
 * Largest chunk file a reader accepts (spec §11), envelope included: the chunk size and 1/64 of
 * it, room for incompressible data and the nonce.
 */
export function maxChunkFileBytes(chunkSize: number): number {
  return chunkSize + Math.floor(chunkSize / 64);
}

export interface ChunkOpener {
  /** The data key of an encrypted archive; null when the archive is not encrypted. */
  readonly dataKey: Uint8Array | null;
  readonly hasher: DataHasher;
  readonly codec: Codec;
}

/**
 * Checks and decompresses `file` (the chunk file's bytes) into `out`, whose length is the chunk's
 * size; `scratch` receives the decrypted bytes (at least `file.length` long). Throws an
 * IntegrityError naming `path` for anything wrong.
 */
export function openChunkFile(
  opener: ChunkOpener,
  path: string,
  file: Uint8Array,
  expectedHash: Uint8Array,
  out: Buffer,
  scratch: Buffer,
): void {
  const overhead = opener.dataKey ? CHUNK_OVERHEAD : 0;
  if (file.length <= overhead) throw new IntegrityError(path, `bad chunk size ${file.length}`);
  const compressed = opener.dataKey ? openChunkEnvelope(opener.dataKey, file, scratch) : file;
  if (!hashesEqual(opener.hasher.digest(compressed), expectedHash))
    throw new IntegrityError(path, 'bad hash (damaged, tampered or misplaced chunk)');
  let n: number;
  try {
    n = opener.codec.decompressInto(compressed, out);
  } catch (error) {
    if (error instanceof DecompressError) throw new IntegrityError(path, `does not decompress to ${out.length} bytes (${error.message})`);
    throw error;
  }
  if (n !== out.length) throw new IntegrityError(path, `decompressed to ${n} bytes, expected ${out.length}`);
}
