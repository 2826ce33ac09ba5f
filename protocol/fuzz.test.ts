// Fuzzing the agent's and the helper's input path: a few thousand frames per run, valid ones
// mutated (bit flips, truncation, length fields, splices, inserted and overwritten bytes) and
// pure random bytes, fed to the FrameReader in random piece sizes, to the msgpack decoder, and
// to every message schema of protocol/messages.ts. Whatever comes in, the only errors are the
// typed decode errors (FrameError, MsgpackError), nothing decoded exceeds the decode limits,
// nothing is buffered beyond one frame, and every loop ends (the work is bounded by the input).
//
// The inputs are test/helpers/fuzz-inputs.ts. The PRNG is seeded: a failure prints its seed,
// and SKIFF_FUZZ_SEED=<seed> replays it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as t from 'typanion';
import { FRAMES, prng, type Rng, stream } from '../test/helpers/fuzz-inputs.js';
import { FrameError, FrameReader } from './frames.js';
import { isAcks, isFailure, LIMITS, MAX_FRAME_BYTES, problemWith, REQUESTS, RESULTS } from './messages.js';
import { type DecodeLimits, decode, MsgpackError, type Value } from './msgpack.js';

const CASES = 4000;
const SEED = Number(process.env['SKIFF_FUZZ_SEED'] ?? 0x5c1ff);

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
