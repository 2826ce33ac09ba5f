// archive.salt (spec §4.2): four 80-byte slots (BE80 counter, 64-byte salt, 6 zero bytes), then
// the salt-hash record: nonce(24) ‖ tag(16) ‖ XChaCha20-Poly1305_Km(BLAKE2b-512(salt0..salt3)).
// The record lets a reader detect a replaced salt file once it holds the metadata key.

import { createHash, randomBytes } from 'node:crypto';
import { testScryptSalts } from './crypto/kdf-memo.js';

export const SALT_FILE_BYTES = 424;
const SLOT_BYTES = 80;
const COUNTER_BYTES = 10;
const SALT_BYTES = 64;
const RECORD_OFFSET = 320;
const RECORD_NONCE_BYTES = 24;
const RECORD_TAG_BYTES = 16;
const RECORD_CIPHERTEXT_BYTES = 64;
const SLOTS = [0, 1, 2, 3] as const;

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
  for (const slot of SLOTS) {
    const base = slot * SLOT_BYTES;
    if (bytes.subarray(base + COUNTER_BYTES + SALT_BYTES, base + SLOT_BYTES).some((b) => b !== 0)) {
      throw new SaltFormatError(`non-zero padding in slot ${slot}`);
    }
  }
  const counter = (slot: number) => readBe80(bytes.subarray(slot * SLOT_BYTES, slot * SLOT_BYTES + COUNTER_BYTES));
  const salt = (slot: number) => {
    const base = slot * SLOT_BYTES + COUNTER_BYTES;
    return Buffer.from(bytes.subarray(base, base + SALT_BYTES));
  };
  const tag = RECORD_OFFSET + RECORD_NONCE_BYTES;
  const ciphertext = tag + RECORD_TAG_BYTES;
  return {
    counters: [counter(0), counter(1), counter(2), counter(3)],
    salts: [salt(0), salt(1), salt(2), salt(3)],
    record: {
      nonce: Buffer.from(bytes.subarray(RECORD_OFFSET, tag)),
      tag: Buffer.from(bytes.subarray(tag, ciphertext)),
      ciphertext: Buffer.from(bytes.subarray(ciphertext, ciphertext + RECORD_CIPHERTEXT_BYTES)),
    },
  };
}

/**
 * A new archive's salts: four random ones, counters at zero, the record still to be sealed.
 * Under the test suite's guard only, the two scrypt salts are the test process's (kdf-memo.ts).
 */
export function newSaltFile(env: NodeJS.ProcessEnv = process.env): SaltFile {
  const [dataSalt, metadataSalt] = testScryptSalts(env, SALT_BYTES) ?? [randomBytes(SALT_BYTES), randomBytes(SALT_BYTES)];
  return {
    counters: [0n, 0n, 0n, 0n],
    salts: [dataSalt, metadataSalt, randomBytes(SALT_BYTES), randomBytes(SALT_BYTES)],
    record: {
      nonce: Buffer.alloc(RECORD_NONCE_BYTES),
      tag: Buffer.alloc(RECORD_TAG_BYTES),
      ciphertext: Buffer.alloc(RECORD_CIPHERTEXT_BYTES),
    },
  };
}

export function formatSaltFile(salt: SaltFile): Buffer {
  const out = Buffer.alloc(SALT_FILE_BYTES);
  for (const slot of SLOTS) {
    const base = slot * SLOT_BYTES;
    writeBe80(salt.counters[slot], out, base);
    salt.salts[slot].copy(out, base + COUNTER_BYTES);
  }
  salt.record.nonce.copy(out, RECORD_OFFSET);
  salt.record.tag.copy(out, RECORD_OFFSET + RECORD_NONCE_BYTES);
  salt.record.ciphertext.copy(out, RECORD_OFFSET + RECORD_NONCE_BYTES + RECORD_TAG_BYTES);
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
