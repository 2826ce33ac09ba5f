// The archive's compressor (archive.ini `compression` / `compr_level`), used for every object but
// the archive.ini body (always gzip). Hashes are over compressed bytes, so for parity with Wyng
// a codec should produce the same bytes as the library Wyng uses (libzstd one-shot, zlib
// compress2, libbz2); see doc/archive-format.md §Compression for what was measured.

export type CompressionName = 'zstd' | 'zlib' | 'bz2';

export const COMPRESSION_NAMES: readonly CompressionName[] = ['zstd', 'zlib', 'bz2'];

export interface Codec {
  readonly name: CompressionName;
  readonly level: number;
  compress(data: Uint8Array): Buffer;
  /** Compresses into `out` (at least maxCompressedBytes long) and returns the length; no allocation. */
  compressInto(data: Uint8Array, out: Buffer): number;
  /** An upper bound of the compressed size of `length` bytes. */
  maxCompressedBytes(length: number): number;
  /**
   * Decompresses into `out` and returns the number of bytes written. Throws DecompressError if
   * the input is not one valid stream or would decompress to more than `out.length` bytes —
   * the bound keeps a hostile archive from inflating a small file into gigabytes.
   */
  decompressInto(data: Uint8Array, out: Buffer): number;
}

export class DecompressError extends Error {}

/** Decompresses into a fresh buffer of at most `maxBytes`. */
export function decompressBounded(codec: Codec, data: Uint8Array, maxBytes: number): Buffer {
  const out = Buffer.allocUnsafe(maxBytes);
  const n = codec.decompressInto(data, out);
  return out.subarray(0, n);
}

/** The level range each library accepts, and Wyng's defaults (behavior spec §1.4). */
export const LEVELS: Record<CompressionName, { min: number; max: number; default: number }> = {
  zstd: { min: 1, max: 22, default: 3 },
  zlib: { min: 0, max: 9, default: 4 },
  bz2: { min: 1, max: 9, default: 9 },
};
