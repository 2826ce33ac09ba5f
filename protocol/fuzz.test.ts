// Fuzzing the agent's and the helper's input path: a few thousand frames per run, valid ones
// mutated (bit flips, truncation, length fields, splices, inserted and overwritten bytes) and
// pure random bytes, fed to the FrameReader in random piece sizes, to the msgpack decoder, and
// to every message schema of protocol/messages.ts. Whatever comes in, the only errors are the
// typed decode errors (FrameError, MsgpackError), nothing decoded exceeds the decode limits,
// nothing is buffered beyond one frame, and every loop ends (the work is bounded by the input).
//
// The PRNG is seeded: a failure prints its seed, and SKIFF_FUZZ_SEED=<seed> replays it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as t from 'typanion';
import { encodeFrame, FrameError, FrameReader } from './frames.js';
import { isAcks, isFailure, LIMITS, MAX_FRAME_BYTES, problemWith, REQUESTS, RESULTS } from './messages.js';
import { type DecodeLimits, decode, MsgpackError, type Value } from './msgpack.js';

const CASES = 4000;
const SEED = Number(process.env['SKIFF_FUZZ_SEED'] ?? 0x5c1ff);

/** mulberry32: small, fast, and the same sequence everywhere for one seed. */
function prng(seed: number): { next: () => number; below: (n: number) => number } {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  return { next, below: (n) => Math.floor(next() * n) };
}
type Rng = ReturnType<typeof prng>;

const bytes = (n: number, fill: number) => Buffer.alloc(n, fill);

/** One valid message of every shape the protocol has, requests and replies. */
const CORPUS: Value[] = [
  { op: 'hello', id: 1, version: 1, root: '/srv/backups/a1', create: true },
  { op: 'stat', id: 2, path: 'archive.ini' },
  { op: 'list', id: 3, path: 'Vol_1a2b3c/S_20240101-000000' },
  { op: 'read', id: 4, path: 'Vol_1a2b3c/volinfo', max: 184296 },
  { op: 'write', id: 5, path: 'Vol_1a2b3c/S-tmp/000000000/x0000000000010000', mode: 'new', size: 300, data: bytes(300, 7), more: false },
  { op: 'write', id: 6, path: 'archive.ini', mode: 'replace', size: 70000, data: bytes(200, 1), more: true },
  { op: 'more', id: 6, data: bytes(100, 2), more: false },
  { op: 'mkdir', id: 7, path: 'Vol_1a2b3c/S-tmp/000000000' },
  { op: 'link', id: 8, from: 'a/x0000000000000000', to: 'b/x0000000000000000' },
  {
    op: 'rename',
    id: 9,
    pairs: [
      ['S-tmp', 'S_20240101-000000'],
      ['archive.ini.tmp', 'archive.ini'],
    ],
  },
  { op: 'remove', id: 10, path: 'archive.ini.tmp' },
  { op: 'removeTree', id: 11, path: 'Vol_1a2b3c/merge' },
  { op: 'fsyncDir', id: 12, path: '.' },
  { op: 'flush', id: 13 },
  { op: 'free', id: 14 },
  { op: 'lock', id: 15 },
  { op: 'bye', id: 16 },
  { id: 1, ok: true, version: 1, helper: 'skiff-dest-helper 0.1.0' },
  { id: 2, ok: true, stat: { kind: 'file', size: 1234, links: 1 } },
  { id: 2, ok: true, stat: null },
  { id: 3, ok: true, names: ['000000000', '000000001', 'x0000000000000000', 'volinfo'], more: true },
  { id: 3, ok: true, names: [], more: false },
  { id: 4, ok: true, size: 500, data: bytes(500, 9), more: false },
  { id: 4, ok: true, size: 0, data: bytes(0, 0), more: true },
  { id: 14, ok: true, bytes: 2 ** 40 },
  { ok: true, ids: [5, 7, 8, 9, 10, 11, 12, 13] },
  { id: 10, ok: false, code: 'ENOENT', message: 'archive.ini.tmp: no such file' },
  { id: -1, ok: 1.5, nested: [[{}]], big: 2 ** 53 - 1, neg: -(2 ** 40), s: 'é'.repeat(40) },
];
const FRAMES = CORPUS.map((message) => Buffer.concat(encodeFrame(message, MAX_FRAME_BYTES)));

/** Byte values that start msgpack types with lengths, and those that are never valid. */
const TYPE_BYTES = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc1, 0xc4, 0xc5, 0xc6, 0xc7, 0xca, 0xcb, 0xcf, 0xd3, 0xd9];
const MORE_TYPE_BYTES = [0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff];

function mutate(frame: Buffer, rng: Rng): Buffer {
  let out = Buffer.from(frame);
  for (let round = 1 + rng.below(3); round > 0; round--) {
    switch (rng.below(7)) {
      case 0: // bit flips
        for (let k = 1 + rng.below(8); k > 0 && out.length > 0; k--) {
          const at = rng.below(out.length);
          out[at] = (out[at] as number) ^ (1 << rng.below(8));
        }
        break;
      case 1: // truncation
        out = out.subarray(0, rng.below(out.length + 1));
        break;
      case 2: {
        // the length field: random, near the truth, zero, at and over the limit
        if (out.length < 4) break;
        const body = out.length - 4;
        const choices = [rng.below(2 ** 32), body + rng.below(17) - 8, 0, MAX_FRAME_BYTES, MAX_FRAME_BYTES + 1, 0xffffffff, rng.below(256)];
        out.writeUInt32BE(Math.max(0, Math.min(0xffffffff, choices[rng.below(choices.length)] as number)), 0);
        break;
      }
      case 3: {
        // a splice of two frames
        const other = FRAMES[rng.below(FRAMES.length)] as Buffer;
        out = Buffer.concat([out.subarray(0, rng.below(out.length + 1)), other.subarray(rng.below(other.length + 1))]);
        break;
      }
      case 4: {
        // random bytes inserted
        const at = rng.below(out.length + 1);
        const noise = Buffer.from(Array.from({ length: 1 + rng.below(16) }, () => rng.below(256)));
        out = Buffer.concat([out.subarray(0, at), noise, out.subarray(at)]);
        break;
      }
      case 5: // a type byte overwritten
        if (out.length > 4) {
          const types = [...TYPE_BYTES, ...MORE_TYPE_BYTES];
          out[4 + rng.below(out.length - 4)] = types[rng.below(types.length)] as number;
        }
        break;
      default: // a range duplicated
        if (out.length > 0) {
          const from = rng.below(out.length);
          const to = from + rng.below(Math.min(64, out.length - from) + 1);
          out = Buffer.concat([out.subarray(0, to), out.subarray(from, to), out.subarray(to)]);
        }
    }
  }
  return out;
}

function randomFrame(rng: Rng): Buffer {
  const body = Buffer.from(Array.from({ length: rng.below(200) }, () => rng.below(256)));
  if (rng.below(2) === 0) return body; // not even a header
  const header = Buffer.alloc(4);
  header.writeUInt32BE(rng.below(2) === 0 ? body.length : rng.below(body.length + 8), 0);
  return Buffer.concat([header, body]);
}

/** A frame whose body is mutated and whose length field is then made right again. */
function reframed(frame: Buffer, rng: Rng): Buffer {
  const body = mutate(Buffer.concat([Buffer.alloc(4), frame.subarray(4)]), rng).subarray(4);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

const FIELDS = ['op', 'id', 'ok', 'path', 'data', 'names', 'more', 'size', 'max', 'stat', 'ids', 'code', 'message', 'version', 'pairs'];
const OPS = ['hello', 'stat', 'list', 'read', 'write', 'more', 'rename', 'bye', 'nope', '__proto__'];

/** A well-formed message of random shape, made of the protocol's own field names and values. */
function randomMessage(rng: Rng, depth = 0): Value {
  const pick = rng.below(depth > 2 ? 8 : 11);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return rng.below(2) === 0;
    case 2:
      return [0, 1, -1, 2 ** 48, 2 ** 48 + 1, 2 ** 53 - 1, 0.5, -(2 ** 53) + 1][rng.below(8)] as number;
    case 3:
      return OPS[rng.below(OPS.length)] as string;
    case 4:
      return ['', '.', '..', 'a/../b', '/etc', 'x'.repeat(4097), 'ENOENT', 'file'][rng.below(8)] as string;
    case 5:
      return Buffer.alloc(rng.below(300), rng.below(256));
    case 6:
      return rng.below(1 << 20);
    case 7:
      return FIELDS[rng.below(FIELDS.length)] as string;
    case 8:
      return Array.from({ length: rng.below(5) }, () => randomMessage(rng, depth + 1));
    default: {
      const out: { [key: string]: Value } = {};
      for (let n = rng.below(8); n > 0; n--) out[FIELDS[rng.below(FIELDS.length)] as string] = randomMessage(rng, depth + 1);
      return out;
    }
  }
}

/** A stream of one to three frames: valid, mutated, re-framed, random bytes or random messages. */
function stream(rng: Rng): Buffer {
  const parts: Buffer[] = [];
  for (let n = 1 + rng.below(3); n > 0; n--) {
    const kind = rng.below(10);
    const frame = FRAMES[rng.below(FRAMES.length)] as Buffer;
    if (kind === 0) parts.push(frame);
    else if (kind === 1) parts.push(randomFrame(rng));
    else if (kind <= 3) parts.push(Buffer.concat(encodeFrame(randomMessage(rng), MAX_FRAME_BYTES)));
    else if (kind <= 6) parts.push(reframed(frame, rng));
    else parts.push(mutate(frame, rng));
  }
  return Buffer.concat(parts);
}

/** Checks that a decoded value keeps within the limits it was decoded under. */
function withinLimits(value: Value, limits: DecodeLimits, depth = 0): void {
  if (typeof value === 'string') assert.ok(Buffer.byteLength(value) <= limits.maxString, 'string over the limit');
  else if (value instanceof Uint8Array) assert.ok(value.length <= limits.maxBinary, 'binary over the limit');
  else if (Array.isArray(value)) {
    assert.ok(value.length <= limits.maxArray && depth < limits.maxDepth, 'array over the limits');
    for (const item of value) withinLimits(item, limits, depth + 1);
  } else if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    assert.ok(keys.length <= limits.maxMap && depth < limits.maxDepth, 'map over the limits');
    assert.equal(Object.getPrototypeOf(value), null, 'a map with a prototype');
    for (const key of keys) withinLimits(value[key] as Value, limits, depth + 1);
  }
}

const SCHEMAS: t.StrictValidator<unknown, unknown>[] = [...Object.values(REQUESTS), ...Object.values(RESULTS), isAcks, isFailure];

/** Every schema answers with a verdict, never an exception. */
function validate(value: Value): void {
  for (const schema of SCHEMAS) {
    const problem = problemWith(schema, value);
    assert.ok(problem === null || typeof problem === 'string');
  }
}

/** What the run met, to show that it reaches past the first byte. */
const tally = { decoded: 0, frameErrors: 0, decodeErrors: 0 };

function expectTyped(error: unknown): void {
  if (error instanceof FrameError) tally.frameErrors++;
  else if (error instanceof MsgpackError) tally.decodeErrors++;
  else throw error;
}

function oneCase(rng: Rng): void {
  const input = stream(rng);
  // The frame reader, in random piece sizes (empty pieces too).
  const reader = new FrameReader(MAX_FRAME_BYTES, LIMITS);
  try {
    for (let offset = 0; offset <= input.length; ) {
      const size = rng.below(4) === 0 ? rng.below(3) : 1 + rng.below(Math.max(1, input.length));
      for (const value of reader.push(input.subarray(offset, offset + size))) {
        tally.decoded++;
        withinLimits(value, LIMITS);
        validate(value);
      }
      assert.ok(reader.pending <= 4 + MAX_FRAME_BYTES, 'buffered more than one frame');
      offset += Math.max(1, size);
    }
  } catch (error) {
    expectTyped(error);
  }
  // The decoder on its own, on the bytes after a header.
  try {
    const value = decode(input.subarray(Math.min(4, input.length)), LIMITS);
    withinLimits(value, LIMITS);
    validate(value);
  } catch (error) {
    expectTyped(error);
  }
}

describe('fuzzing the frame reader, the decoder and the message schemas', { timeout: 120_000 }, () => {
  it(`${CASES} seeded random and mutated frames: typed errors only, within the limits`, (t) => {
    t.diagnostic(`seed ${SEED} (SKIFF_FUZZ_SEED replays a run)`);
    const rng = prng(SEED);
    for (let i = 0; i < CASES; i++) {
      try {
        oneCase(rng);
      } catch (error) {
        assert.fail(`seed ${SEED}, case ${i}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      }
    }
    t.diagnostic(`${tally.decoded} messages decoded, ${tally.frameErrors} frame errors, ${tally.decodeErrors} decode errors`);
    assert.ok(tally.decoded > CASES / 4 && tally.frameErrors > 0 && tally.decodeErrors > CASES / 4, 'the mutations reach every outcome');
  });

  it('the corpus itself decodes and passes its schemas where it should', () => {
    for (const frame of FRAMES) {
      const reader = new FrameReader(MAX_FRAME_BYTES, LIMITS);
      const [value] = reader.push(frame);
      assert.ok(value !== undefined);
      withinLimits(value, LIMITS);
    }
    assert.equal(problemWith(REQUESTS.read, decode((FRAMES[3] as Buffer).subarray(4), LIMITS)), null);
    assert.equal(problemWith(RESULTS.list, decode((FRAMES[20] as Buffer).subarray(4), LIMITS)), null);
    assert.equal(problemWith(isAcks, decode((FRAMES[25] as Buffer).subarray(4), LIMITS)), null);
  });
});
