import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { xchacha20, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hchacha20 } from './hchacha20.js';
import { xchacha20Poly1305Open, xchacha20Poly1305Seal, xchacha20Xor } from './xchacha20.js';

const K = Buffer.from([...Array(32).keys()]);
const N = Buffer.from([...Array(24).keys()]);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('HChaCha20', () => {
  it('matches the IETF draft vector (format spec §18.5)', () => {
    const nonce = Buffer.from('000000090000004a0000000031415927', 'hex');
    assert.equal(hex(hchacha20(K, nonce)), '82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc');
  });
  it('matches the spec vector for K = 00..1f, N = 00..0f', () => {
    assert.equal(hex(hchacha20(K, N.subarray(0, 16))), '51e3ff45a895675c4b33b46c64f4a9ace110d34df6a2ceab486372bacbd3eff6');
  });
});

describe('XChaCha20 (node:crypto fast path)', () => {
  it('gives the spec keystream for K, N', () => {
    const stream = xchacha20Xor(K, N, Buffer.alloc(64));
    assert.equal(
      hex(stream),
      'e53a61cef151e81401067de33adfc02e90ab205361b49b539fda7f0e63b1bc7d68fbee56c9c20c39960e595f3ea76c979804d08cfa728e66cb5f766b840ec61f',
    );
  });
  it('equals @noble/ciphers on random keys, nonces and lengths', () => {
    for (const length of [0, 1, 63, 64, 65, 1000, 4096, 65536 + 17, 1 << 20]) {
      const key = randomBytes(32);
      const nonce = randomBytes(24);
      const data = randomBytes(length);
      assert.equal(hex(xchacha20Xor(key, nonce, data)), hex(xchacha20(key, nonce, data)), `length ${length}`);
    }
  });
  it('writes into a caller buffer when given one', () => {
    const data = randomBytes(5000);
    const out = Buffer.alloc(6000);
    const result = xchacha20Xor(K, N, data, out);
    assert.equal(result.buffer, out.buffer);
    assert.equal(hex(xchacha20Xor(K, N, result)), hex(data));
  });
  it('gives the reference bytes in a caller buffer and in place, across its 16 KiB pieces', () => {
    for (const length of [16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 131_072, 131_072 + 45]) {
      const key = randomBytes(32);
      const nonce = randomBytes(24);
      const data = randomBytes(length);
      const expected = hex(xchacha20(key, nonce, data));
      const out = Buffer.alloc(length + 64);
      const result = xchacha20Xor(key, nonce, data, out);
      assert.equal(result.length, length);
      assert.equal(hex(result), expected, `caller buffer, length ${length}`);
      const inPlace = Buffer.from(data);
      assert.equal(hex(xchacha20Xor(key, nonce, inPlace, inPlace)), expected, `in place, length ${length}`);
      assert.equal(hex(inPlace), expected);
    }
  });
});

describe('XChaCha20-Poly1305 (node:crypto fast path)', () => {
  it('seals "wyng metadata" to the spec bytes', () => {
    const { ciphertext, tag } = xchacha20Poly1305Seal(K, N, Buffer.from('wyng metadata'));
    assert.equal(hex(tag), '03e62405d1ebfb8da4fabdb94eaa2109');
    assert.equal(hex(ciphertext), 'e9bb6118b0bfe8da522047baaa');
  });
  it('equals @noble/ciphers on random inputs, both ways', () => {
    for (const length of [0, 1, 15, 16, 17, 1000, 65536, 300_001]) {
      const key = randomBytes(32);
      const nonce = randomBytes(24);
      const data = randomBytes(length);
      const { ciphertext, tag } = xchacha20Poly1305Seal(key, nonce, data);
      const reference = xchacha20poly1305(key, nonce).encrypt(data);
      assert.equal(hex(Buffer.concat([ciphertext, tag])), hex(reference), `length ${length}`);
      const opened = xchacha20Poly1305Open(key, nonce, reference.subarray(0, length), reference.subarray(length));
      assert.ok(opened);
      assert.equal(hex(opened), hex(data));
    }
  });
  it('refuses a flipped bit in ciphertext, tag or nonce', () => {
    const data = randomBytes(100);
    const { ciphertext, tag } = xchacha20Poly1305Seal(K, N, data);
    const flipped = (b: Buffer, i: number) => {
      const c = Buffer.from(b);
      c[i] = (c[i] as number) ^ 1;
      return c;
    };
    assert.equal(xchacha20Poly1305Open(K, N, flipped(ciphertext, 50), tag), null);
    assert.equal(xchacha20Poly1305Open(K, N, ciphertext, flipped(tag, 0)), null);
    assert.equal(xchacha20Poly1305Open(K, flipped(N, 3), ciphertext, tag), null);
    assert.equal(xchacha20Poly1305Open(K, N, ciphertext, tag.subarray(0, 15)), null);
  });
});
