import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { newSaltFile } from '../salt.js';
import { scryptKey, WYNG_SCRYPT } from './kdf.js';
import { memoizedDerivation, TEST_SALTS_FILE, testKdfMemoDir } from './kdf-memo.js';

const base = mkdtempSync(join(tmpdir(), 'skiff-kdf-memo-'));
after(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
function privateDir(): string {
  const dir = mkdtempSync(join(base, `memo${n++}-`));
  chmodSync(dir, 0o700);
  return dir;
}
const PARAMS = { N: 1024, r: 8, p: 1, keyLength: 32 };

describe('test-only scrypt memo', () => {
  it('is used only with SKIFF_TEST=1 and a private absolute directory', () => {
    const dir = privateDir();
    assert.equal(testKdfMemoDir({ SKIFF_TEST_KDF_MEMO: dir }), null, 'no test-mode guard');
    assert.equal(testKdfMemoDir({ SKIFF_TEST: 'yes', SKIFF_TEST_KDF_MEMO: dir }), null);
    assert.equal(testKdfMemoDir({ SKIFF_TEST: '1' }), null);
    assert.equal(testKdfMemoDir({ SKIFF_TEST: '1', SKIFF_TEST_KDF_MEMO: 'relative/dir' }), null);
    assert.equal(testKdfMemoDir({ SKIFF_TEST: '1', SKIFF_TEST_KDF_MEMO: join(base, 'missing') }), null);
    assert.equal(testKdfMemoDir({ SKIFF_TEST: '1', SKIFF_TEST_KDF_MEMO: dir }), dir);
    const open = privateDir();
    chmodSync(open, 0o755);
    assert.equal(testKdfMemoDir({ SKIFF_TEST: '1', SKIFF_TEST_KDF_MEMO: open }), null, 'readable by others');
  });

  it('computes each (parameters, passphrase, salt) once and returns exactly what was computed', async () => {
    const dir = privateDir();
    let calls = 0;
    const derive = (byte: number) => async () => {
      calls++;
      return Buffer.alloc(32, byte);
    };
    const salt = Buffer.alloc(64, 1);
    assert.deepEqual(await memoizedDerivation(dir, PARAMS, Buffer.from('pass-one'), salt, derive(7)), Buffer.alloc(32, 7));
    assert.deepEqual(await memoizedDerivation(dir, PARAMS, Buffer.from('pass-one'), salt, derive(8)), Buffer.alloc(32, 7));
    assert.equal(calls, 1);
    await memoizedDerivation(dir, PARAMS, Buffer.from('pass-two'), salt, derive(9));
    await memoizedDerivation(dir, PARAMS, Buffer.from('pass-one'), Buffer.alloc(64, 2), derive(9));
    await memoizedDerivation(dir, { ...PARAMS, N: 2048 }, Buffer.from('pass-one'), salt, derive(9));
    assert.equal(calls, 4, 'another passphrase, salt or N is another entry');
    assert.equal(readdirSync(dir).length, 4, 'no partial files left');
  });

  it('scryptKey consults the memo only under the test-mode guard', async () => {
    const dir = privateDir();
    const passphrase = Buffer.from('memo-passphrase');
    const salt = Buffer.alloc(64, 3);
    const planted = Buffer.alloc(32, 0xee);
    await memoizedDerivation(dir, WYNG_SCRYPT, passphrase, salt, async () => planted);
    assert.deepEqual(await scryptKey(passphrase, salt, { SKIFF_TEST: '1', SKIFF_TEST_KDF_MEMO: dir }), planted);
  });

  it("gives new archives the memo's scrypt salts only under the test-mode guard; the other two stay random", () => {
    const dir = privateDir();
    const salts = Buffer.concat([Buffer.alloc(64, 0x11), Buffer.alloc(64, 0x22)]);
    writeFileSync(join(dir, TEST_SALTS_FILE), salts);
    const guarded = { SKIFF_TEST: '1', SKIFF_TEST_KDF_MEMO: dir };
    const [one, two] = [newSaltFile(guarded), newSaltFile(guarded)];
    assert.deepEqual(one.salts.slice(0, 2), [Buffer.alloc(64, 0x11), Buffer.alloc(64, 0x22)]);
    assert.notDeepEqual(one.salts[2], two.salts[2]);
    assert.notDeepEqual(one.salts[3], two.salts[3]);
    const unguarded = newSaltFile({ SKIFF_TEST_KDF_MEMO: dir });
    assert.notDeepEqual(unguarded.salts[0], Buffer.alloc(64, 0x11), 'no test-mode guard: random');
    writeFileSync(join(dir, TEST_SALTS_FILE), salts.subarray(0, 100));
    assert.notDeepEqual(newSaltFile(guarded).salts[0], Buffer.alloc(64, 0x11), 'a file of the wrong size is not used');
  });
});
