// archive.salt (spec §4.2): four 80-byte slots (BE80 counter, 64-byte salt, 6 zero bytes), then
// the salt-hash record: nonce(24) ‖ tag(16) ‖ XChaCha20-Poly1305_Km(BLAKE2b-512(salt0..salt3)).
// The record lets a reader detect a replaced salt file once it holds the metadata key.

import { createHash } from 'node:crypto';

export const SALT_FILE_BYTES = 424;
const SLOT_BYTES = 80;
const COUNTER_BYTES = 10;
const SALT_BYTES = 64;
const RECORD_OFFSET = 320;

export interface SaltFile {
  /** Per-slot 80-bit counters: slot 0 data, slot 1 metadata, slots 2 and 3 unused. */
  counters: [bigint, bigint, bigint, bigint];
  /** Slot 0: data-key scrypt salt; 1: metadata-key scrypt salt; 2: nonce HKDF salt; 3: hash HKDF salt. */
  salts: [Buffer, Buffer, Buffer, Buffer];
  /** The sealed salt-hash record, 104 bytes. */
  record: { nonce: Buffer; tag: Buffer; ciphertext: Buffer };
}

export class SaltFormatError extends Error {}

function readBe80(bytes: Buffer): bigint {
  return BigInt(`0x${bytes.toString('hex')}`);
}

function writeBe80(value: bigint, out: Buffer, offset: number): void {
  if (value < 0n || value >= 1n << 80n) throw new RangeError('counter out of 80-bit range');
  Buffer.from(value.toString(16).padStart(20, '0'), 'hex').copy(out, offset);
}

export function parseSaltFile(bytes: Buffer): SaltFile {
  if (bytes.length !== SALT_FILE_BYTES) {
    throw new SaltFormatError(`expected ${SALT_FILE_BYTES} bytes, found ${bytes.length}`);
  }
  const counters: bigint[] = [];
  const salts: Buffer[] = [];
  for (let slot = 0; slot < 4; slot++) {
    const base = slot * SLOT_BYTES;
    counters.push(readBe80(bytes.subarray(base, base + COUNTER_BYTES)));
    salts.push(Buffer.from(bytes.subarray(base + COUNTER_BYTES, base + COUNTER_BYTES + SALT_BYTES)));
    if (bytes.subarray(base + COUNTER_BYTES + SALT_BYTES, base + SLOT_BYTES).some((b) => b !== 0)) {
      throw new SaltFormatError(`non-zero padding in slot ${slot}`);
    }
  }
  const r = RECORD_OFFSET;
  return {
    counters: counters as SaltFile['counters'],
    salts: salts as SaltFile['salts'],
    record: {
      nonce: Buffer.from(bytes.subarray(r, r + 24)),
      tag: Buffer.from(bytes.subarray(r + 24, r + 40)),
      ciphertext: Buffer.from(bytes.subarray(r + 40, r + 104)),
    },
  };
}

export function formatSaltFile(salt: SaltFile): Buffer {
  const out = Buffer.alloc(SALT_FILE_BYTES);
  for (let slot = 0; slot < 4; slot++) {
    const base = slot * SLOT_BYTES;
    writeBe80(salt.counters[slot] as bigint, out, base);
    (salt.salts[slot] as Buffer).copy(out, base + COUNTER_BYTES);
  }
  salt.record.nonce.copy(out, RECORD_OFFSET);
  salt.record.tag.copy(out, RECORD_OFFSET + 24);
  salt.record.ciphertext.copy(out, RECORD_OFFSET + 40);
  return out;
}

/** The plaintext of the salt-hash record: unkeyed BLAKE2b-512 of the four salts in slot order. */
export function saltDigest(salts: readonly Buffer[]): Buffer {
  const h = createHash('blake2b512');
  for (const s of salts) h.update(s);
  return h.digest();
}

/** salt.bak is archive.salt with every byte inverted (so that dedup tools do not merge them). */
export function invertBytes(bytes: Buffer): Buffer {
  return Buffer.from(bytes.map((b) => b ^ 0xff));
}
