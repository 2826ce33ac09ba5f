// Key derivation as Wyng V3 does it (spec §4.3): scrypt for the two root keys, HKDF-SHA512 for
// the subkeys. scrypt with N=2^19, r=8 needs 512 MiB, over Node's 32 MiB default `maxmem`.

import { hkdf, scrypt } from 'node:crypto';
import { promisify } from 'node:util';
import { memoizedDerivation, testKdfMemoDir } from './kdf-memo.js';

const scryptAsync = promisify(scrypt) as (
  password: Uint8Array,
  salt: Uint8Array,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;
const hkdfAsync = promisify(hkdf);

export const SCRYPT_N = 2 ** 19;
export const SCRYPT_R = 8;
export const SCRYPT_P = 1;
/** Memory one scrypt call needs: 128 · N · r bytes = 512 MiB. */
export const SCRYPT_MEMORY_BYTES = 128 * SCRYPT_N * SCRYPT_R;
const SCRYPT_MAXMEM = 640 * 1024 * 1024;
/** The format's parameters (spec §4.3); stored nowhere in the archive, so never anything else. */
export const WYNG_SCRYPT = { N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P, keyLength: 32 } as const;

/**
 * scrypt(P, salt, N=2^19, r=8, p=1) → 32 bytes. Runs on the libuv pool, so two run in parallel.
 * Under the test suite's guard only, a result computed before is read back (kdf-memo.ts).
 */
export function scryptKey(passphrase: Uint8Array, salt: Uint8Array, env: NodeJS.ProcessEnv = process.env): Promise<Buffer> {
  const derive = () =>
    scryptAsync(passphrase, salt, WYNG_SCRYPT.keyLength, { N: WYNG_SCRYPT.N, r: WYNG_SCRYPT.r, p: WYNG_SCRYPT.p, maxmem: SCRYPT_MAXMEM });
  const memo = testKdfMemoDir(env);
  return memo === null ? derive() : memoizedDerivation(memo, WYNG_SCRYPT, passphrase, salt, derive);
}

/**
 * HKDF-SHA512 (RFC 5869) expanded to 128 bytes; Wyng takes either the first or the second
 * 64-byte half as a subkey (Cryptodome's `num_keys=2`).
 */
export async function hkdfSha512Halves(ikm: Uint8Array, salt: Uint8Array, info: string): Promise<[first: Buffer, second: Buffer]> {
  const okm = Buffer.from(await hkdfAsync('sha512', ikm, salt, info, 128));
  return [okm.subarray(0, 64), okm.subarray(64, 128)];
}
