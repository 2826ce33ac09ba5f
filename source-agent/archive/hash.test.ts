import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { blake2b } from '@noble/hashes/blake2.js';
import {
  blake2b256Digest,
  blake2bDataHasher,
  decodeHash,
  encodeHash,
  hashesEqual,
  hmacSha256DataHasher,
  initHashing,
  metadataHash,
} from './hash.js';

before(initHashing);

describe('hashes', () => {
  it('b64(blake2b-256("")) is the spec value', () => {
    assert.equal(encodeHash(metadataHash(Buffer.alloc(0))), 'DldRwCblQ7Loqy6wYJnaodHl30d3j3eH-qtFzfEv46g=');
  });
  it('BLAKE2b-256 (hash-wasm) equals @noble/hashes on random inputs', () => {
    for (const length of [0, 1, 127, 128, 129, 4096, 1 << 20]) {
      const data = randomBytes(length);
      assert.deepEqual(blake2b256Digest(data), Buffer.from(blake2b(data, { dkLen: 32 })), `length ${length}`);
    }
  });
  it('the hmac-sha256 data hasher is keyed HMAC-SHA256', () => {
    const key = randomBytes(64);
    const data = randomBytes(1000);
    assert.deepEqual(hmacSha256DataHasher(key).digest(data), createHmac('sha256', key).update(data).digest());
    assert.equal(blake2bDataHasher.name, 'blake2b');
  });
  it('hash text round-trips and only the canonical form decodes', () => {
    const digest = randomBytes(32);
    const text = encodeHash(digest);
    assert.equal(text.length, 44);
    assert.deepEqual(decodeHash(text), digest);
    assert.equal(
      decodeHash('JG8ADDSWPP7EFJjDboqxZbyUS-CTdMbG6qzLf0xCEQc=')?.toString('hex'),
      '246f000c34963cfec41498c36e8ab165bc944be09374c6c6eaaccb7f4c421107',
    );
    // Last character with non-zero low bits: decodes to the same bytes as ...c= but is not canonical.
    assert.equal(decodeHash('JG8ADDSWPP7EFJjDboqxZbyUS-CTdMbG6qzLf0xCEQd='), null);
    assert.equal(decodeHash('JG8ADDSWPP7EFJjDboqxZbyUS+CTdMbG6qzLf0xCEQc='), null, 'standard alphabet');
    assert.equal(decodeHash('JG8ADDSWPP7EFJjDboqxZbyUS-CTdMbG6qzLf0xCEQc'), null, 'no padding');
    assert.equal(decodeHash('0'), null);
  });
  it('hashesEqual compares lengths and bytes', () => {
    const a = randomBytes(32);
    assert.ok(hashesEqual(a, Buffer.from(a)));
    assert.ok(!hashesEqual(a, a.subarray(0, 31)));
    const b = Buffer.from(a);
    b[31] = (b[31] as number) ^ 1;
    assert.ok(!hashesEqual(a, b));
  });
});
