import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { DecompressError, decompressBounded, makeCodec } from './index.js';

const samples = [
  Buffer.alloc(0),
  Buffer.from('name = x\ndesc = \n'),
  randomBytes(65536),
  Buffer.from('log line 42: all is well\n'.repeat(10000)),
  Buffer.alloc(262144),
];

describe('compression codecs', () => {
  for (const [name, level] of [
    ['zstd', 3],
    ['zstd', 19],
    ['zlib', 4],
    ['zlib', 9],
    ['bz2', 9],
    ['bz2', 1],
  ] as const) {
    it(`${name}:${level} round-trips`, () => {
      const codec = makeCodec(name, level);
      for (const data of samples) {
        const compressed = codec.compress(data);
        assert.deepEqual(decompressBounded(codec, compressed, data.length), data);
      }
    });
    it(`${name}:${level} refuses output beyond the bound`, () => {
      const codec = makeCodec(name, level);
      const compressed = codec.compress(Buffer.alloc(100_000));
      assert.throws(() => decompressBounded(codec, compressed, 99_999), DecompressError);
    });
    it(`${name}:${level} refuses garbage`, () => {
      const codec = makeCodec(name, level);
      assert.throws(() => decompressBounded(codec, Buffer.from('definitely not compressed'), 1000), DecompressError);
    });
  }
  it('zstd:3 of a tiny volinfo equals the bytes Wyng writes (format spec §18.5)', () => {
    const compressed = makeCodec('zstd', 3).compress(Buffer.from('name = x\ndesc = \n'));
    assert.equal(compressed.toString('hex'), '28b52ffd20118900006e616d65203d20780a64657363203d200a');
  });
  it('zlib writes a zlib stream with the level in its header', () => {
    assert.equal(makeCodec('zlib', 4).compress(Buffer.from('abc')).subarray(0, 2).toString('hex'), '785e');
    assert.equal(makeCodec('zlib', 9).compress(Buffer.from('abc')).subarray(0, 2).toString('hex'), '78da');
  });
  it('bz2 writes a BZh stream with the level as block size', () => {
    assert.equal(makeCodec('bz2', 9).compress(Buffer.from('abc')).subarray(0, 4).toString('latin1'), 'BZh9');
  });
});
