// The merged manifest of a volume at a session (spec §10.3): for every chunk address up to the
// session's volume size, the entry of the newest session (not newer than it) that lists the
// address. Built newest-first, one session manifest at a time, into fixed typed arrays
// (36 bytes per chunk), so the per-session manifests need not all be in memory at once.

import { crc32 } from 'node:zlib';
import { HASH_BYTES } from './hash.js';
import { HASH_LINE_BYTES, type SessionManifest, writeManifestLine } from './manifest.js';

export const ZERO_CHUNK = -1;
const UNCOVERED = -2;

export class MergedManifest {
  readonly volsize: number;
  readonly chunkSize: number;
  readonly chunkCount: number;
  /** 32 bytes per chunk (zero for zero chunks). */
  readonly hashes: Uint8Array;
  /** Per chunk: ZERO_CHUNK, or the index (given by the caller) of the session that holds it. */
  readonly source: Int32Array;
  private uncovered: number;

  constructor(volsize: number, chunkSize: number) {
    this.volsize = volsize;
    this.chunkSize = chunkSize;
    this.chunkCount = Math.ceil(volsize / chunkSize);
    this.hashes = new Uint8Array(this.chunkCount * HASH_BYTES);
    this.source = new Int32Array(this.chunkCount).fill(UNCOVERED);
    this.uncovered = this.chunkCount;
  }

  /** True once every chunk has an entry; older sessions then cannot change anything. */
  get complete(): boolean {
    return this.uncovered === 0;
  }

  /**
   * Adds the entries of the next-older session. Addresses already supplied by a newer session,
   * and addresses beyond this volume size, are ignored.
   */
  addOlder(manifest: SessionManifest, sessionIndex: number): void {
    for (let n = 0; n < manifest.count; n++) {
      const index = manifest.chunkIndexes[n]!;
      if (index >= this.chunkCount) break;
      if (this.source[index] !== UNCOVERED) continue;
      if (manifest.isZero[n]) {
        this.source[index] = ZERO_CHUNK;
      } else {
        this.source[index] = sessionIndex;
        this.hashes.set(manifest.hashes.subarray(n * HASH_BYTES, (n + 1) * HASH_BYTES), index * HASH_BYTES);
      }
      this.uncovered--;
    }
  }

  /** Fills the chunks not yet covered from an older merged view (itself complete). */
  addMerged(older: MergedManifest, sourceOffset = 0): void {
    const limit = Math.min(this.chunkCount, older.chunkCount);
    for (let i = 0; i < limit; i++) {
      if (this.source[i] !== UNCOVERED) continue;
      const source = older.source[i]!;
      this.source[i] = source === ZERO_CHUNK ? ZERO_CHUNK : source + sourceOffset;
      if (source !== ZERO_CHUNK) this.hashes.set(older.hashAt(i), i * HASH_BYTES);
      this.uncovered--;
    }
  }

  /** Whether the chunk at `index` is an all-zero chunk in this view. */
  isZero(index: number): boolean {
    return this.source[index] === ZERO_CHUNK;
  }

  /** Index of the first chunk that no session supplied, or -1. */
  firstUncovered(): number {
    return this.uncovered === 0 ? -1 : this.source.indexOf(UNCOVERED);
  }

  hashAt(index: number): Uint8Array {
    return this.hashes.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES);
  }

  /** Size in bytes of chunk `index` (the last one may be short). */
  chunkBytes(index: number): number {
    return Math.min(this.chunkSize, this.volsize - index * this.chunkSize);
  }

  /** `mfcs`: CRC-32 of the merged manifest text, computed in 64 KiB batches of lines. */
  crc(): number {
    let crc = 0;
    const batch = Buffer.allocUnsafe(65536 + HASH_LINE_BYTES);
    let at = 0;
    for (let i = 0; i < this.chunkCount; i++) {
      at += writeManifestLine(batch, at, this.source[i] === ZERO_CHUNK ? null : this.hashAt(i), i * this.chunkSize);
      if (at >= 65536) {
        crc = crc32(batch.subarray(0, at), crc);
        at = 0;
      }
    }
    return at > 0 ? crc32(batch.subarray(0, at), crc) : crc;
  }
}
