// Turning metadata into archive files: compress, hash (Hm), seal with a fresh nonce, and build
// the root (archive.ini) with counters that cover every nonce used. Pure: the caller stores the
// bytes (archive/transaction.ts has the order in which they become visible).

import type { Archive } from './archive.js';
import type { ArchiveIni } from './archive-ini.js';
import { formatArchiveIniText, formatHeader, gzipBody, MAX_BODY_BYTES as MAX_ROOT_BYTES } from './archive-ini.js';
import { sealMetadataEnvelope } from './envelope.js';
import { encodeHash, metadataHash } from './hash.js';
import { METADATA_COUNTER_BYTES, type NonceCounters } from './nonces.js';

export interface SealedObject {
  /** The file's bytes as stored. */
  bytes: Buffer;
  /** Hm of the compressed plaintext, as the parent records it. */
  hash: string;
}

/** `updated_at` for a write: the current time, and always strictly after `previous`. */
export function nextUpdatedAt(previous: string, nowSeconds: number): string {
  let micros = Math.round(nowSeconds * 1e6);
  const prior = Math.round(Number(previous) * 1e6);
  if (micros <= prior) micros = prior + 1;
  const whole = Math.floor(micros / 1e6);
  const fraction = String(micros % 1e6)
    .padStart(6, '0')
    .replace(/0+$/, '');
  return `${whole}.${fraction || '0'}`;
}

export class ArchiveWriter {
  readonly archive: Archive;
  /** null for unencrypted archives. */
  readonly counters: NonceCounters | null;
  /** The clock of this write (Unix seconds), injected: ct nonces and archive.ini's updatedAt read it. */
  readonly now: () => number;

  constructor(archive: Archive, counters: NonceCounters | null, now: () => number) {
    this.archive = archive;
    this.counters = counters;
    this.now = now;
  }

  sealMetadata(plaintext: string | Uint8Array): SealedObject {
    const compressed = this.archive.codec.compress(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext);
    const hash = encodeHash(metadataHash(compressed));
    const keys = this.archive.keys;
    if (!keys || !this.counters) return { bytes: compressed, hash };
    return { bytes: sealMetadataEnvelope(keys.metadataKey, this.counters.metadataNonce(compressed), compressed), hash };
  }

  /**
   * The bytes of archive.ini for `ini`: a new updated_at, counters at least as high as every
   * nonce used including the one sealing this file, gzip, seal. Returns the ini as written.
   */
  root(ini: ArchiveIni): { bytes: Buffer; ini: ArchiveIni } {
    const next: ArchiveIni = { ...ini, updatedAt: nextUpdatedAt(ini.updatedAt, this.now()) };
    const keys = this.archive.keys;
    if (!keys || !this.counters) {
      return { bytes: Buffer.concat([formatHeader(next.mode), gzipBody(formatArchiveIniText(next))]), ini: next };
    }
    // Record a metadata counter at least as high as the one that seals this file (ct: +1; msr:
    // + len/16384, bounded here generously), so no later run can start below a used value.
    // (Wyng records the value from before sealing archive.ini.)
    const counters = this.counters;
    const recorded = counters.metadata + 2n + BigInt(Math.ceil(MAX_ROOT_BYTES / METADATA_COUNTER_BYTES));
    const final: ArchiveIni = { ...next, dataCounter: counters.data, metadataCounter: recorded };
    const gzipped = gzipBody(formatArchiveIniText(final));
    const nonce = counters.metadataNonce(gzipped);
    if (counters.metadata < recorded) counters.metadata = recorded;
    return { bytes: Buffer.concat([formatHeader(final.mode), sealMetadataEnvelope(keys.metadataKey, nonce, gzipped)]), ini: final };
  }
}
