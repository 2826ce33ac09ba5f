import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeFrame, FrameError, FrameReader } from './frames.js';
import { LIMITS } from './messages.js';
import { type DecodeLimits, decode, encode, MsgpackError, type Value } from './msgpack.js';

const roomy: DecodeLimits = { maxString: 1 << 20, maxBinary: 1 << 24, maxArray: 1 << 20, maxMap: 1 << 10, maxDepth: 16 };

describe('msgpack subset', () => {
  it('encodes with the standard formats (checked against the msgpack spec)', () => {
    const cases: [Value, string][] = [
      [null, 'c0'],
      [true, 'c3'],
      [false, 'c2'],
      [0, '00'],
      [127, '7f'],
      [128, 'cc80'],
      [65535, 'cdffff'],
      [65536, 'ce00010000'],
      [2 ** 32, 'cf0000000100000000'],
      [-1, 'ff'],
      [-32, 'e0'],
      [-33, 'd3ffffffffffffffdf'],
      [0.5, 'cb3fe0000000000000'],
      ['', 'a0'],
      ['a', 'a161'],
      ['x'.repeat(32), `d920${'78'.repeat(32)}`],
      [new Uint8Array([1, 2]), 'c4020102'],
      [[1, 'a'], '9201a161'],
      [{ a: 1 }, '81a16101'],
    ];
    for (const [value, hex] of cases) {
      assert.equal(encode(value).toString('hex'), hex, JSON.stringify(value));
      const back = decode(Buffer.from(hex, 'hex'), roomy);
      const plain = back !== null && typeof back === 'object' && !(back instanceof Uint8Array) && !Array.isArray(back) ? { ...back } : back;
      assert.deepEqual(plain instanceof Uint8Array ? Buffer.from(plain) : plain, value instanceof Uint8Array ? Buffer.from(value) : value);
    }
  });

  it('round-trips nested messages, large binaries and long strings', () => {
    const message = {
      op: 'write',
      id: 2 ** 40,
      path: 'Vol_1/S-tmp/000000000/x0000000000010000',
      data: Buffer.alloc(300000, 9),
      pairs: [['a', 'b']],
    };
    const back = decode(encode(message), roomy) as { [key: string]: Value };
    assert.equal(back['id'], 2 ** 40);
    assert.ok(Buffer.from(back['data'] as Uint8Array).equals(message.data));
    assert.deepEqual(back['pairs'], [['a', 'b']]);
    assert.equal(Object.getPrototypeOf(back), null);
  });

  it('enforces its limits while decoding', () => {
    const limits: DecodeLimits = { maxString: 4, maxBinary: 4, maxArray: 2, maxMap: 1, maxDepth: 2 };
    const bad: [Value | Buffer, RegExp][] = [
      ['hello', /string of 5 bytes exceeds the limit of 4/],
      [encode(new Uint8Array(5)), /binary of 5 bytes exceeds/],
      [[1, 2, 3], /array of 3 elements exceeds/],
      [{ a: 1, b: 2 }, /map of 2 entries exceeds/],
      [[[[1]]], /nested too deeply/],
      // An array header claiming 2^32-1 elements in a 5-byte frame: refused before allocating.
      [Buffer.from('ddffffffff', 'hex'), /array of 4294967295 elements exceeds/],
      [Buffer.from('c1', 'hex'), /unsupported type byte 0xc1/],
      [Buffer.from('d4', 'hex'), /unsupported type byte 0xd4/], // ext types are not part of the subset
      [Buffer.from('82a16101a16102', 'hex'), /map of 2 entries/],
      [Buffer.from('a3', 'hex'), /truncated/],
      [Buffer.from('0000', 'hex'), /1 bytes after the value/],
      [Buffer.from('a2c328', 'hex'), /not valid UTF-8/],
      [Buffer.from('cfffffffffffffffff', 'hex'), /integer out of range/],
    ];
    for (const [input, pattern] of bad) {
      const bytes = Buffer.isBuffer(input) ? input : encode(input as Value);
      assert.throws(
        () => decode(bytes, limits),
        (e: unknown) => e instanceof MsgpackError && pattern.test(e.message),
        String(pattern),
      );
    }
  });

  it('refuses prototype-polluting and duplicate keys', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const bytes = Buffer.concat([Buffer.from([0x81, 0xa0 | key.length]), Buffer.from(key), Buffer.from([0x01])]);
      assert.throws(() => decode(bytes, roomy), /forbidden map key/);
    }
    assert.throws(() => decode(Buffer.from('82a16101a16102', 'hex'), roomy), /duplicate map key 'a'/);
    assert.throws(() => decode(Buffer.from('810101', 'hex'), roomy), /map key is not a string/);
  });
});

describe('frames', () => {
  it('reassembles frames split anywhere, and several frames in one chunk', () => {
    const frames = [{ id: 1, ok: true, ids: [1, 2, 3] }, { id: 2, data: Buffer.alloc(70000, 1) }, { id: 3 }];
    const stream = Buffer.concat(frames.flatMap((f) => encodeFrame(f, 1 << 20)));
    for (const step of [1, 3, 4096, stream.length]) {
      const reader = new FrameReader(1 << 20, LIMITS);
      const out: Value[] = [];
      for (let i = 0; i < stream.length; i += step) out.push(...reader.push(stream.subarray(i, i + step)));
      assert.equal(out.length, 3);
      assert.equal((out[1] as { data: Uint8Array }).data.length, 70000);
      assert.equal(reader.pending, 0);
    }
  });

  it('refuses an oversized frame from its header, before buffering it', () => {
    const reader = new FrameReader(1024, LIMITS);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1025, 0);
    assert.throws(
      () => reader.push(header),
      (e: unknown) => e instanceof FrameError && /1025 bytes exceeds the limit of 1024/.test(e.message),
    );
    assert.throws(() => encodeFrame({ data: Buffer.alloc(2000) }, 1024), FrameError);
  });
});
