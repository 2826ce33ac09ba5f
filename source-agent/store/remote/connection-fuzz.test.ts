// Fuzzing the agent's end of the protocol past the decoder: a RemoteStore over a HelperConnection
// whose helper is a pair of in-memory streams, with stat, read, list, write and lock requests
// waiting, answered by replies of every shape with ids near the real ones, damaged and re-framed
// (test/helpers/fuzz-inputs.ts), fed in random piece sizes. Every request must end in a result
// or a StoreError (the connection's own errors are StoreErrors), never an exception elsewhere.
// Seeded: a failure prints its seed, and SKIFF_FUZZ_SEED=<seed> replays it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeFrame } from '../../../protocol/frames.js';
import { MAX_FRAME_BYTES } from '../../../protocol/messages.js';
import type { Value } from '../../../protocol/msgpack.js';
import { CORPUS, prng, type Rng, reframed, stream } from '../../../test/helpers/fuzz-inputs.js';
import { pipedChannel } from '../../../test/helpers/piped-channel.js';
import { StoreError } from '../store.js';
import { HelperConnection } from './helper-connection.js';
import { RemoteStore } from './remote-store.js';

const CASES = 1500;
const SEED = Number(process.env['SKIFF_FUZZ_SEED'] ?? 0x5c1ff);
/** The corpus's replies (no `op`); their ids are redrawn for each case. */
const REPLIES = CORPUS.filter((m): m is { [key: string]: Value } => m !== null && typeof m === 'object' && !('op' in m));

/** A reply to one of the requests in flight (ids 1..5), or to one never sent (6). */
function reply(rng: Rng): Buffer {
  const message: { [key: string]: Value } = { ...(REPLIES[rng.below(REPLIES.length)] as { [key: string]: Value }) };
  if ('id' in message) message['id'] = 1 + rng.below(6);
  if ('ids' in message) message['ids'] = Array.from({ length: rng.below(3) }, () => 1 + rng.below(6));
  const frame = Buffer.concat(encodeFrame(message, MAX_FRAME_BYTES));
  const kind = rng.below(6);
  return kind <= 2 ? frame : kind <= 4 ? reframed(frame, rng) : stream(rng);
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function oneCase(rng: Rng, tally: { results: number; errors: number }): Promise<void> {
  const { channel, readable, writable } = pipedChannel();
  writable.resume();
  const connection = new HelperConnection(channel, { timeoutMs: 600_000 });
  const store = new RemoteStore('fuzz:', connection);
  const outcomes = Promise.allSettled([
    store.stat('a'),
    store.read('b', 1000),
    store.list('c'),
    store.put('d', Buffer.alloc(10)),
    store.lock(),
  ]);
  const input = Buffer.concat(Array.from({ length: 1 + rng.below(4) }, () => reply(rng)));
  for (let offset = 0; offset < input.length; ) {
    const size = 1 + rng.below(input.length);
    readable.write(input.subarray(offset, offset + size));
    offset += size;
  }
  for (let i = 0; i < 4; i++) await tick();
  connection.fatal('the case is over');
  for (const outcome of await outcomes) {
    if (outcome.status === 'fulfilled') tally.results++;
    else {
      assert.ok(outcome.reason instanceof StoreError, `a StoreError, not ${String(outcome.reason)}`);
      tally.errors++;
    }
  }
}

describe('fuzzing the helper connection and the remote store', { timeout: 120_000 }, () => {
  it(`${CASES} seeded cases of damaged replies: every request ends in a result or a StoreError`, async (t) => {
    t.diagnostic(`seed ${SEED} (SKIFF_FUZZ_SEED replays a run)`);
    const rng = prng(SEED);
    const tally = { results: 0, errors: 0 };
    for (let i = 0; i < CASES; i++) {
      try {
        await oneCase(rng, tally);
      } catch (error) {
        assert.fail(`seed ${SEED}, case ${i}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      }
    }
    t.diagnostic(`${tally.results} requests answered, ${tally.errors} failed`);
    assert.ok(tally.results > 0, 'some replies get through');
  });
});
