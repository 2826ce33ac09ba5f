// Nonces for writing (format spec §4.5, §4.7). Readers never recompute nonces; what matters is
// that a (key, nonce) pair is never used twice:
//   ct (ci 32):      BE32(T − 1577880000) ‖ 10 random bytes ‖ BE80(counter), counter +1 per use
//   msr (ci 34):     HMAC-SHA256(nonce key, 24 random bytes ‖ compressed)[0:24]
//   dgr (ci 35):     data: HMAC-SHA256(NK0, 24 random bytes ‖ Hd)[0:24]; metadata as msr
// Counters are kept for every mode: ct puts them in the nonce; msr/dgr only record them, as Wyng
// does (data +1 per chunk, metadata + len/16384).

import { createHmac, randomBytes } from 'node:crypto';
import type { NonceStyle } from './crypto/cipher-modes.js';

/** 1577880000 = int(50 × 365.25 × 86400): Wyng's epoch offset for the 32-bit ct time field. */
const TIME_HEADROOM = 1_577_880_000;
const MAX_COUNTER = (1n << 80n) - 64n;

export type RandomBytes = (n: number) => Buffer;

// Random bytes drawn 4 KiB at a time: one getrandom() per ~170 nonces instead of one each.
let pool = Buffer.alloc(0);
function pooledRandom(n: number): Buffer {
  if (pool.length < n) pool = randomBytes(4096);
  const out = pool.subarray(0, n);
  pool = pool.subarray(n);
  return out;
}

function be80(value: bigint): Buffer {
  if (value < 0n || value > MAX_COUNTER) throw new RangeError('nonce counter exhausted');
  return Buffer.from(value.toString(16).padStart(20, '0'), 'hex');
}

/** The ct-mode nonce for one encryption. */
export function ctNonce(counter: bigint, nowSeconds: number, random: RandomBytes = pooledRandom): Buffer {
  const time = Math.floor(nowSeconds) - TIME_HEADROOM;
  if (time < 0 || time > 0xffffffff) throw new RangeError('clock outside the range ct nonces can encode (2020–2156)');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(time);
  return Buffer.concat([head, random(10), be80(counter)]);
}

/** The msr/dgr nonce: a keyed hash of 24 random bytes and `material`. */
export function hashedNonce(nonceKey: Uint8Array, material: Uint8Array, random: RandomBytes = pooledRandom): Buffer {
  return createHmac('sha256', nonceKey).update(random(24)).update(material).digest().subarray(0, 24);
}

/** Makes a data chunk's nonce (used by the send workers). */
export function dataNonce(
  style: NonceStyle,
  nonceKey: Uint8Array | null,
  compressed: Uint8Array,
  dataHash: Uint8Array,
  ctCounter: bigint,
  nowSeconds: number,
): Buffer {
  if (style === 'ct') return ctNonce(ctCounter, nowSeconds);
  if (!nonceKey) throw new Error('msr/dgr nonces need the data nonce key');
  return hashedNonce(nonceKey, style === 'dgr' ? dataHash : compressed);
}

/** An msr/dgr metadata nonce moves the metadata counter by one per this many bytes sealed. */
export const METADATA_COUNTER_BYTES = 16384;

/** The two counters, as last used. */
export interface Counters {
  data: bigint;
  metadata: bigint;
}

/**
 * Counters and metadata nonces for one run. Starts above every value recorded anywhere (the
 * archive, the local state) plus a margin, so a value lost in a crash is never reused.
 */
export class NonceCounters {
  private readonly style: NonceStyle;
  private readonly metadataKey: Uint8Array | null;
  private readonly now: () => number;
  data: bigint;
  metadata: bigint;

  static readonly MARGIN = 1n << 20n;

  constructor(style: NonceStyle, metadataNonceKey: Uint8Array | null, start: Counters, now: () => number, margin = NonceCounters.MARGIN) {
    this.style = style;
    this.metadataKey = metadataNonceKey;
    this.now = now;
    this.data = start.data + margin;
    this.metadata = start.metadata + margin;
  }

  /** Reserves `count` data counter values; returns the first. */
  reserveData(count: number): bigint {
    const first = this.data + 1n;
    this.data += BigInt(count);
    return first;
  }

  /** The nonce for sealing one metadata object of this (compressed) plaintext. */
  metadataNonce(compressed: Uint8Array): Buffer {
    if (this.style === 'ct') {
      this.metadata += 1n;
      return ctNonce(this.metadata, this.now());
    }
    if (!this.metadataKey) throw new Error('msr/dgr nonces need the metadata nonce key');
    this.metadata += BigInt(Math.floor(compressed.length / METADATA_COUNTER_BYTES));
    return hashedNonce(this.metadataKey, compressed);
  }
}
