import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { scryptKey, WYNG_SCRYPT } from './kdf.js';
import { memoizedDerivation, testKdfMemoDir } from './kdf-memo.js';

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
});
