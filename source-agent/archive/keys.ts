// The key set of an encrypted archive (spec §4.3): two scrypt root keys and their HKDF subkeys.
// Km protects metadata (AEAD), Kd encrypts chunks, MK0 keys the data hash, NK0/NK1 only make
// nonces when writing.

import { freemem } from 'node:os';
import type { CipherMode } from './crypto/cipher-modes.js';
import { hkdfSha512Halves, SCRYPT_MEMORY_BYTES, scryptKey } from './crypto/kdf.js';
import type { SaltFile } from './salt.js';

export interface ArchiveKeys {
  /** Kd: encrypts data chunks (XChaCha20). */
  readonly dataKey: Buffer;
  /** Km: encrypts archive.ini, volinfo, info, manifest.z and the salt record (XChaCha20-Poly1305). */
  readonly metadataKey: Buffer;
  /** MK0: HMAC-SHA256 key of the data hash. */
  readonly manifestHashKey: Buffer;
  /** NK0: data nonce key (msr/dgr only). */
  readonly dataNonceKey: Buffer | null;
  /** NK1: metadata nonce key (msr/dgr only). */
  readonly metadataNonceKey: Buffer | null;
}

/** Root keys only; what an auth agent would keep between runs. */
export interface RootKeys {
  dataKey: Buffer;
  metadataKey: Buffer;
}

/**
 * The two scrypts take ~2.3 s each here. They run in parallel (on the libuv pool) when there is
 * memory to spare, since each needs 512 MiB; otherwise one after the other, so that unlocking
 * never needs more than Wyng's 512 MiB on a small dom0.
 */
export async function deriveRootKeys(passphrase: Uint8Array, salt: SaltFile, availableBytes = freemem()): Promise<RootKeys> {
  if (availableBytes >= 4 * SCRYPT_MEMORY_BYTES) {
    const [dataKey, metadataKey] = await Promise.all([scryptKey(passphrase, salt.salts[0]), scryptKey(passphrase, salt.salts[1])]);
    return { dataKey, metadataKey };
  }
  const dataKey = await scryptKey(passphrase, salt.salts[0]);
  return { dataKey, metadataKey: await scryptKey(passphrase, salt.salts[1]) };
}

export async function deriveSubkeys(root: RootKeys, salt: SaltFile, mode: CipherMode): Promise<ArchiveKeys> {
  const [, manifestHashKey] = await hkdfSha512Halves(root.dataKey, salt.salts[3], 'Wyng-Manifest-Hash0');
  let dataNonceKey: Buffer | null = null;
  let metadataNonceKey: Buffer | null = null;
  if (mode.nonceStyle === 'msr' || mode.nonceStyle === 'dgr') {
    [dataNonceKey] = await hkdfSha512Halves(root.dataKey, salt.salts[2], 'Wyng_Nonces0');
    [metadataNonceKey] = await hkdfSha512Halves(root.metadataKey, salt.salts[2], 'Wyng_Nonces1');
  }
  return { dataKey: root.dataKey, metadataKey: root.metadataKey, manifestHashKey, dataNonceKey, metadataNonceKey };
}
