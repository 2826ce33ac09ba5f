// The key set of an encrypted archive (spec §4.3): two scrypt root keys and their HKDF subkeys.
// Km protects metadata (AEAD), Kd encrypts chunks, MK0 keys the data hash, NK0/NK1 only make
// nonces when writing.

import { freemem, totalmem } from 'node:os';
import type { CipherMode } from './crypto/cipher-modes.js';
import { hkdfSha512Halves, scryptKey } from './crypto/kdf.js';
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

/** The machine's memory as the key derivation sees it. */
export interface MemoryFigures {
  totalBytes: number;
  freeBytes: number;
}

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/**
 * os.totalmem()/freemem(), unless SKIFF_TEST_MEMORY_MIB=TOTAL:FREE (MiB) stands in for them: a
 * test override, so that the rule below can be exercised as on a small dom0 on any machine.
 */
export function systemMemory(): MemoryFigures {
  const override = /^([0-9]+):([0-9]+)$/.exec(process.env['SKIFF_TEST_MEMORY_MIB'] ?? '');
  if (override) return { totalBytes: Number(override[1]) * MIB, freeBytes: Number(override[2]) * MIB };
  return { totalBytes: totalmem(), freeBytes: freemem() };
}

/**
 * Whether the two scrypts (512 MiB each) may run at once. dom0 often has 1–4 GiB in all, and a
 * second 512 MiB there can push out the VMs' memory, so by default they run one after the other
 * (a peak of ~530 MiB RSS, as Wyng; ~4.6 s instead of ~2.3 s). Only where memory is plentiful —
 * at least 16 GiB installed and 8 GiB free, so the 1 GiB peak is a small share of either — do
 * they run in parallel.
 */
export function deriveInParallel(memory: MemoryFigures): boolean {
  return memory.totalBytes >= 16 * GIB && memory.freeBytes >= 8 * GIB;
}

/** The two root keys from the passphrase: scrypt with salts 0 (Kd) and 1 (Km). */
export async function deriveRootKeys(
  passphrase: Uint8Array,
  salt: SaltFile,
  parallel = deriveInParallel(systemMemory()),
): Promise<RootKeys> {
  if (parallel) {
    const [dataKey, metadataKey] = await Promise.all([scryptKey(passphrase, salt.salts[0]), scryptKey(passphrase, salt.salts[1])]);
    return { dataKey, metadataKey };
  }
  const dataKey = await scryptKey(passphrase, salt.salts[0]);
  return { dataKey, metadataKey: await scryptKey(passphrase, salt.salts[1]) };
}

/** Km alone (one scrypt): enough to check a passphrase against keys already at hand. */
export function deriveMetadataKey(passphrase: Uint8Array, salt: SaltFile): Promise<Buffer> {
  return scryptKey(passphrase, salt.salts[1]);
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
