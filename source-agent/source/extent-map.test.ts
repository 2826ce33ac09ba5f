import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changedChunks, ExtentMapError, parseFilefrag } from './extent-map.js';

// Real `filefrag -v -s` output from Btrfs: a 10 MiB snapshot, and the volume after 12 KiB were
// rewritten at block 100.
const SNAP = `Filesystem type is: 9123683e
File size of mb/pool/snap is 10485760 (2560 blocks of 4096 bytes)
 ext:     logical_offset:        physical_offset: length:   expected: flags:
   0:        0..    2559:      20528..     23087:   2560:             last,shared,eof
mb/pool/snap: 1 extent found
`;
const VOL = `Filesystem type is: 9123683e
File size of mb/pool/v.img is 10485760 (2560 blocks of 4096 bytes)
 ext:     logical_offset:        physical_offset: length:   expected: flags:
   0:        0..      99:      20528..     20627:    100:             shared
   1:      100..     102:       3328..      3330:      3:      20628:
   2:      103..    2559:      20631..     23087:   2457:       3331: last,shared,eof
mb/pool/v.img: 3 extents found
`;
const KiB = 1024;

const map = (sizeBytes: number, extents: string[]) =>
  parseFilefrag(
    `File size of f is ${sizeBytes} (${Math.ceil(sizeBytes / 4096)} blocks of 4096 bytes)\n ext: logical_offset: physical_offset: length: expected: flags:\n${extents.join('\n')}\nf: ${extents.length} extents found\n`,
  );

describe('filefrag extent maps', () => {
  it('parses real output, with and without the expected column', () => {
    const m = parseFilefrag(VOL);
    assert.equal(m.blockSize, 4096);
    assert.equal(m.sizeBytes, 10485760);
    assert.deepEqual(
      m.extents.map((e) => [e.logical, e.physical, e.length, [...e.flags]]),
      [
        [0, 20528, 100, ['shared']],
        [100, 3328, 3, []],
        [103, 20631, 2457, ['last', 'shared', 'eof']],
      ],
    );
    assert.equal(parseFilefrag('File size of s is 20971520 (5120 blocks of 4096 bytes)\ns: 0 extents found\n').extents.length, 0);
  });
  it('refuses output it does not understand', () => {
    assert.throws(() => parseFilefrag('garbage'), ExtentMapError);
    assert.throws(() => parseFilefrag(SNAP.replace('mb/pool/snap: 1 extent found\n', '')), ExtentMapError);
    assert.throws(() => parseFilefrag(SNAP.replace('2560:             last', '9:             last')), ExtentMapError);
  });
  it('marks exactly the chunk of a small rewrite', () => {
    const changed = changedChunks(parseFilefrag(SNAP), parseFilefrag(VOL), 64 * KiB, 10485760);
    // Blocks 100..102 = bytes 409600..421887: chunk 6 of 64 KiB.
    assert.deepEqual(
      [...changed.keys()].filter((i) => changed[i]),
      [6],
    );
  });
  it('treats holes in both as unchanged, and a hole on one side as changed', () => {
    const old = map(1024 * KiB, ['0: 0..15: 1000..1015: 16:']);
    const now = map(1024 * KiB, ['0: 0..15: 1000..1015: 16:', '1: 100..103: 5000..5003: 4:']);
    assert.deepEqual(
      [...changedChunks(old, now, 64 * KiB, 1024 * KiB).keys()].filter((i) => changedChunks(old, now, 64 * KiB, 1024 * KiB)[i]),
      [6],
    );
    const punched = map(1024 * KiB, []);
    assert.equal(changedChunks(old, punched, 64 * KiB, 1024 * KiB)[0], 1);
  });
  it('treats unreliable locations and unwritten-state changes as changed', () => {
    const old = map(256 * KiB, ['0: 0..63: 1000..1063: 64: unwritten']);
    assert.equal(changedChunks(old, map(256 * KiB, ['0: 0..63: 1000..1063: 64:']), 64 * KiB, 256 * KiB)[0], 1);
    assert.equal(changedChunks(old, map(256 * KiB, ['0: 0..63: 0..63: 64: unknown_loc,delalloc']), 64 * KiB, 256 * KiB)[0], 1);
    assert.equal(changedChunks(old, old, 64 * KiB, 256 * KiB)[0], 0);
  });
  it('compares compressed (encoded) extents only as whole extents', () => {
    const old = map(256 * KiB, ['0: 0..31: 1000..1031: 32: encoded']);
    const split = map(256 * KiB, ['0: 0..15: 1000..1015: 16: encoded', '1: 16..31: 1000..1015: 16: encoded']);
    assert.equal(changedChunks(old, split, 64 * KiB, 256 * KiB)[0], 1);
    assert.equal(changedChunks(old, old, 64 * KiB, 256 * KiB)[0], 0);
  });
  it('trusts an encoded extent only at the largest compressed size (its start is then certain)', () => {
    // Btrfs reports the start of the compressed extent for every part of it that a file uses,
    // without the offset into it: these two maps are the same, their data is not (real case:
    // test/system/scan-safety.test.ts). Only a 128 KiB reference must start at offset 0.
    const halves = map(256 * KiB, ['0: 0..15: 1000..1015: 16: encoded,shared', '1: 16..31: 1000..1015: 16: last,encoded,shared,eof']);
    assert.deepEqual([...changedChunks(halves, halves, 64 * KiB, 128 * KiB)], [1, 1]);
    const whole = map(256 * KiB, ['0: 0..31: 1000..1031: 32: encoded,shared', '1: 32..63: 2000..2031: 32: last,encoded,shared,eof']);
    assert.deepEqual([...changedChunks(whole, whole, 64 * KiB, 256 * KiB)], [0, 0, 0, 0]);
  });
  it('does not mark chunks past the old size (the caller reads those anyway)', () => {
    const old = map(128 * KiB, ['0: 0..31: 1000..1031: 32:']);
    const grown = map(256 * KiB, ['0: 0..31: 1000..1031: 32:', '1: 32..63: 2000..2031: 32:']);
    assert.deepEqual([...changedChunks(old, grown, 64 * KiB, 256 * KiB)], [0, 0, 0, 0]);
  });
});
