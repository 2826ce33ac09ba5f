// TEST-ONLY: a memo of scrypt results on disk, so that the test suite's hundreds of CLI runs pay
// Wyng's scrypt (512 MiB, seconds per call) once per archive instead of twice per run.
//
// Why a memo and not cheaper scrypt parameters: N, r and p are fixed by the format (spec §4.3)
// and stored nowhere, so an archive made with another N is one neither Wyng nor a normal skiff
// can open, and the tests mix archives across processes (Wyng-made fixtures, archives built in
// the test process, Wyng reading ours). A memo returns exactly what scrypt returns — the archive
// bytes do not change, a wrong passphrase or a tampered salt misses the memo and is refused as
// before — it only skips recomputing a result already computed.
//
// A new archive's salts are random, so its first opening misses the memo whatever was computed
// before: every encrypted arch-init in the tests paid two real derivations. The memo directory
// may therefore also hold the two scrypt salts that new archives take instead of random ones
// (testScryptSalts, written by the test helper), so that the archives a test process makes with
// one passphrase share their root keys and derive them once. The other two salts stay random.
//
// Honoured ONLY when SKIFF_TEST=1 and SKIFF_TEST_KDF_MEMO names a directory that is ours and
// closed to everyone else (test/helpers/cli.ts makes one per test process and removes it). The
// memo holds root keys in the clear: never set these outside the tests.

import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

/** The parameters a memo entry was computed with; all of them are part of its name. */
export interface ScryptParameters {
  N: number;
  r: number;
  p: number;
  keyLength: number;
}

/** The memo directory when the test-mode guard holds, else null (the normal case). */
export function testKdfMemoDir(env: NodeJS.ProcessEnv): string | null {
  const dir = env['SKIFF_TEST_KDF_MEMO'];
  if (env['SKIFF_TEST'] !== '1' || !dir || !isAbsolute(dir)) return null;
  try {
    const stat = lstatSync(dir);
    const ours = process.getuid === undefined || stat.uid === process.getuid();
    return stat.isDirectory() && ours && (stat.mode & 0o077) === 0 ? dir : null;
  } catch {
    return null;
  }
}

function entryName(params: ScryptParameters, passphrase: Uint8Array, salt: Uint8Array): string {
  const hash = createHash('sha256');
  // Length-prefixed fields: no two different inputs share a name.
  for (const field of [Buffer.from(`${params.N}:${params.r}:${params.p}:${params.keyLength}`), passphrase, salt]) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(field.length);
    hash.update(length).update(field);
  }
  return hash.digest('hex');
}

/** The file in the memo directory that holds the two scrypt salts of new archives (64 bytes each). */
export const TEST_SALTS_FILE = 'new-archive-scrypt-salts';

/** The scrypt salts (data, metadata) a new archive takes under the test-mode guard, else null. */
export function testScryptSalts(env: NodeJS.ProcessEnv, saltBytes: number): [Buffer, Buffer] | null {
  const dir = testKdfMemoDir(env);
  if (dir === null) return null;
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(dir, TEST_SALTS_FILE));
  } catch {
    return null;
  }
  if (bytes.length !== 2 * saltBytes) return null;
  return [bytes.subarray(0, saltBytes), bytes.subarray(saltBytes)];
}

/** derive()'s result, from the memo when an earlier run in `dir` computed it already. */
export async function memoizedDerivation(
  dir: string,
  params: ScryptParameters,
  passphrase: Uint8Array,
  salt: Uint8Array,
  derive: () => Promise<Buffer>,
): Promise<Buffer> {
  try {
    const known = readFileSync(join(dir, entryName(params, passphrase, salt)));
    if (known.length === params.keyLength) return known;
  } catch {
    // not computed yet
  }
  const key = await derive();
  rememberDerivation(dir, params, passphrase, salt, key);
  return key;
}

/** Records a result (the tests also enter the known keys of the Wyng fixtures). */
export function rememberDerivation(dir: string, params: ScryptParameters, passphrase: Uint8Array, salt: Uint8Array, key: Buffer): void {
  const path = join(dir, entryName(params, passphrase, salt));
  // Written whole under a private name, then renamed: a parallel run never reads half a key.
  const partial = `${path}.${randomBytes(6).toString('hex')}.partial`;
  writeFileSync(partial, key, { mode: 0o600 });
  renameSync(partial, path);
}
