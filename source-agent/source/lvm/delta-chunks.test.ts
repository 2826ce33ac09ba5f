import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkIndexes, chunksForDelta, clipChunks, countChunks, DeltaChunkMapper } from './delta-chunks.js';
import type { ThinDeltaRange } from './thin-delta-xml.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const r = (kind: ThinDeltaRange['kind'], begin: number, length: number): ThinDeltaRange => ({ kind, begin, length });
const indexes = (ranges: Iterable<ThinDeltaRange>, g: { blockKiB: number; chunkKiB: number; oldSize: number; newSize: number }) => [
  ...chunkIndexes(
    chunksForDelta(ranges, {
      dataBlockSize: (g.blockKiB * KiB) / 512,
      chunkSize: g.chunkKiB * KiB,
      oldSize: g.oldSize,
      newSize: g.newSize,
    }),
  ),
];

describe('thin_delta ranges to archive chunks', () => {
  it('pool blocks smaller than the chunk: each changed block marks the chunk holding it', () => {
    const g = { blockKiB: 64, chunkKiB: 256, oldSize: 4 * MiB, newSize: 4 * MiB };
    assert.deepEqual(indexes([r('right_only', 5, 1)], g), [1]);
    assert.deepEqual(indexes([r('different', 3, 2)], g), [0, 1]);
    assert.deepEqual(indexes([r('different', 0, 1), r('left_only', 2, 1), r('right_only', 4, 1)], g), [0, 1]);
  });

  it('pool blocks larger than the chunk: one block marks every chunk it covers', () => {
    const g = { blockKiB: 1024, chunkKiB: 256, oldSize: 8 * MiB, newSize: 8 * MiB };
    assert.deepEqual(indexes([r('different', 2, 1)], g), [8, 9, 10, 11]);
    assert.deepEqual(indexes([r('different', 7, 1)], g), [28, 29, 30, 31]);
  });

  it('ignores <same> and marks freed (left_only) blocks, which now read as zeros', () => {
    const g = { blockKiB: 64, chunkKiB: 64, oldSize: MiB, newSize: MiB };
    assert.deepEqual(indexes([r('same', 0, 3), r('left_only', 3, 1)], g), [3]);
  });

  it('the very last, partial chunk', () => {
    const size = 4 * MiB + 64 * KiB;
    assert.deepEqual(indexes([r('right_only', 64, 1)], { blockKiB: 64, chunkKiB: 256, oldSize: size, newSize: size }), [16]);
    // A 1 MiB pool block that reaches past the end of the volume: only the chunks inside count.
    assert.deepEqual(indexes([r('right_only', 4, 1)], { blockKiB: 1024, chunkKiB: 256, oldSize: size, newSize: size }), [16]);
    assert.deepEqual(indexes([r('right_only', 5, 1)], { blockKiB: 1024, chunkKiB: 256, oldSize: size, newSize: size }), []);
  });

  it('growth marks every new chunk, and the old partial last chunk', () => {
    assert.deepEqual(indexes([], { blockKiB: 64, chunkKiB: 256, oldSize: 4 * MiB, newSize: 5 * MiB }), [16, 17, 18, 19]);
    assert.deepEqual(
      indexes([r('different', 0, 1)], { blockKiB: 64, chunkKiB: 256, oldSize: 4 * MiB + 64 * KiB, newSize: 5 * MiB }),
      [0, 16, 17, 18, 19],
    );
  });

  it('shrink marks the new partial last chunk; blocks between the sizes still count (the deltamap keeps them)', () => {
    assert.deepEqual(indexes([], { blockKiB: 64, chunkKiB: 256, oldSize: 8 * MiB, newSize: 4 * MiB }), []);
    assert.deepEqual(indexes([], { blockKiB: 64, chunkKiB: 256, oldSize: 8 * MiB, newSize: 4 * MiB + 64 * KiB }), [16]);
    const g = { blockKiB: 64, chunkKiB: 256, oldSize: 8 * MiB, newSize: 4 * MiB };
    assert.deepEqual(indexes([r('left_only', 100, 1), r('left_only', 200, 1)], g), [25]);
    assert.deepEqual(
      [
        ...chunkIndexes(
          clipChunks(
            chunksForDelta([r('left_only', 100, 1)], { dataBlockSize: 128, chunkSize: 256 * KiB, oldSize: 8 * MiB, newSize: 4 * MiB }),
            16,
          ),
        ),
      ],
      [],
    );
  });

  it('merges into sorted ranges and counts them', () => {
    const m = new DeltaChunkMapper({ dataBlockSize: 128, chunkSize: 64 * KiB, oldSize: MiB, newSize: 2 * MiB });
    m.add(r('different', 0, 2));
    m.add(r('right_only', 2, 1));
    m.add(r('left_only', 10, 1));
    const ranges = m.finish();
    assert.deepEqual(ranges, [
      { start: 0, end: 3 },
      { start: 10, end: 11 },
      { start: 16, end: 32 },
    ]);
    assert.equal(countChunks(ranges), 20);
  });

  it('refuses geometry that is not whole sectors', () => {
    assert.throws(() => new DeltaChunkMapper({ dataBlockSize: 128, chunkSize: 1000, oldSize: MiB, newSize: MiB }), RangeError);
    assert.throws(() => new DeltaChunkMapper({ dataBlockSize: 0, chunkSize: 65536, oldSize: MiB, newSize: MiB }), RangeError);
  });
});
