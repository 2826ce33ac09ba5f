// The frame reader fed one byte at a time: frames of every size come out whole and exact, and a
// frame of 1 MiB + a few bytes split into a million pieces is reassembled in linear time (the
// test would run for minutes if the reader were quadratic in the number of pieces it buffers).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeFrame, FrameReader } from './frames.js';
import { LIMITS, MAX_FRAME_BYTES } from './messages.js';
import type { Value } from './msgpack.js';

function bytesOf(message: Value): Buffer {
  return Buffer.concat(encodeFrame(message, MAX_FRAME_BYTES));
}

/** Deterministic filler, so that a misplaced byte shows. */
function pattern(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

describe('FrameReader fed byte by byte', { timeout: 120_000 }, () => {
  it('reassembles frames of 35, 70, 140 KB and 1 MiB exactly, with nothing left pending', () => {
    const sizes = [35_000, 70_000, 140_000, 1 << 20];
    const messages = sizes.map((size, i) => ({ id: i + 1, ok: true, size, data: pattern(size, i), more: false }));
    const stream = Buffer.concat(messages.map(bytesOf));
    const reader = new FrameReader(MAX_FRAME_BYTES, LIMITS);
    const out: Value[] = [];
    for (let i = 0; i < stream.length; i++) {
      out.push(...reader.push(stream.subarray(i, i + 1)));
      assert.ok(reader.pending <= 4 + MAX_FRAME_BYTES);
    }
    assert.equal(reader.pending, 0);
    assert.equal(out.length, messages.length);
    out.forEach((value, i) => {
      const got = value as { id: number; data: Uint8Array };
      const want = messages[i] as { id: number; data: Buffer };
      assert.equal(got.id, want.id);
      assert.ok(want.data.equals(got.data), `frame ${i} data`);
    });
  });

  it('counts a partial frame as pending, header and body alike', () => {
    const frame = bytesOf({ id: 7, data: pattern(100, 7) });
    const reader = new FrameReader(MAX_FRAME_BYTES, LIMITS);
    for (let i = 0; i < frame.length - 1; i++) {
      assert.deepEqual(reader.push(frame.subarray(i, i + 1)), []);
      assert.equal(reader.pending, i + 1);
    }
    assert.equal(reader.push(frame.subarray(frame.length - 1)).length, 1);
    assert.equal(reader.pending, 0);
  });

  it('decodes an empty frame as the error it is, not as a hang', () => {
    const reader = new FrameReader(MAX_FRAME_BYTES, LIMITS);
    assert.throws(() => reader.push(Buffer.alloc(4)), /truncated value/);
  });
});
