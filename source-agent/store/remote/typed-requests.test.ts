// The typed protocol client: request(op, fields) takes that op's request fields and resolves to
// that op's reply type, both derived from the schemas in protocol/messages.ts. The compile-time
// half is the @ts-expect-error lines (npm run typecheck fails if any of them stops being an
// error); the run-time half checks that typing the client left the bytes on the wire as they were.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeFrame } from '../../../protocol/frames.js';
import { MAX_FRAME_BYTES, type Reply } from '../../../protocol/messages.js';
import type { Value } from '../../../protocol/msgpack.js';
import { pipedChannel } from '../../../test/helpers/piped-channel.js';
import { HelperConnection } from './helper-connection.js';

function fakeHelper(): { connection: HelperConnection; sent: Buffer[]; answer: (message: { [key: string]: Value }) => void } {
  const { channel, readable, writable } = pipedChannel();
  const sent: Buffer[] = [];
  writable.on('data', (chunk: Buffer) => sent.push(chunk));
  const connection = new HelperConnection(channel, { timeoutMs: 600_000 });
  return { connection, sent, answer: (message) => readable.write(Buffer.concat(encodeFrame(message, MAX_FRAME_BYTES))) };
}

const frame = (message: { [key: string]: Value }) => Buffer.concat(encodeFrame(message, MAX_FRAME_BYTES));
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('typed protocol requests', () => {
  it('sends op, id and the fields in that order, and resolves to the typed result', async () => {
    const { connection, sent, answer } = fakeHelper();
    const pending = connection.request('stat', { path: 'Vol_1/volinfo' });
    await tick();
    assert.deepEqual(Buffer.concat(sent), frame({ op: 'stat', id: 1, path: 'Vol_1/volinfo' }));
    answer({ id: 1, ok: true, stat: { kind: 'file', size: 3, links: 1 } });
    const reply = await pending;
    // Typed as the stat result: no cast between the reply and its fields.
    assert.equal(reply.stat?.size, 3);
    assert.equal(reply.stat?.kind, 'file');
    connection.fatal('the test is over');
  });

  it('resolves a request without a result when its id is acknowledged', async () => {
    const { connection, sent, answer } = fakeHelper();
    const pending = connection.request('mkdir', { path: 'Vol_1' });
    await tick();
    assert.deepEqual(Buffer.concat(sent), frame({ op: 'mkdir', id: 1, path: 'Vol_1' }));
    answer({ ok: true, ids: [1] });
    const acknowledged: Reply<'mkdir'> = await pending;
    assert.deepEqual(acknowledged, { ok: true });
    connection.fatal('the test is over');
  });

  it('refuses, at compile time, fields of another op and reply fields the op does not have', () => {
    // Never run: these lines are checked by the compiler only.
    const unused = (connection: HelperConnection) => async () => {
      // @ts-expect-error stat needs a path
      await connection.request('stat', {});
      // @ts-expect-error read has no `mode`
      await connection.request('read', { path: 'a', max: 1, mode: 'new' });
      const free = await connection.request('free', {});
      const bytes: number = free.bytes;
      // @ts-expect-error a free result has no `names`
      void free.names;
      return bytes;
    };
    assert.equal(typeof unused, 'function');
  });
});
