// The hostile-helper table: one row per way a destination helper can misbehave. Each row names
// the behaviour (a function of each request, run by the fake helper, fake-helper.ts), the skiff
// command that meets it, and what the agent must do: end with the exit code and a one-line
// message containing the fragment, in bounded time and memory. Any protocol change must keep
// every row passing (hostile-table.test.ts runs them).

import { encodeFrame } from '../../protocol/frames.js';
import type { Value } from '../../protocol/msgpack.js';
import { protoKeyFrame } from '../helpers/hostile-frames.js';

export type Message = { [key: string]: Value };

/** What a row can do with the agent's stream. */
export interface HostileIO {
  /** Hands the request to the real helper; its reply is forwarded unchanged. */
  pass(request: Message): void;
  /** Sends one frame. */
  send(message: Message): void;
  /** Writes bytes as they are (a broken frame). */
  raw(bytes: Uint8Array): void;
  /** Sends one frame a byte at a time, `gapMs` apart. */
  dribble(message: Message, gapMs: number): void;
  /** Sends next(0), next(1), … for as long as the agent reads them. */
  forever(next: (i: number) => Message): void;
  /** Exits now, after writing `words` to stderr. */
  exit(code: number, words?: string): void;
}

export interface HostileRow {
  name: string;
  /** Called for every request, hello included; `nth` counts earlier requests of the same op. */
  behave(request: Message, io: HostileIO, nth: number): void;
  /** skiff's arguments; DEST stands for --dest with the archive's ssh:// URL, SOURCE as said. */
  command: readonly string[];
  exit: number;
  /** Found in the single line on stderr. */
  message: RegExp;
  /** SKIFF_DEST_TIMEOUT for the run, seconds (default 5). */
  timeout?: number;
  /** The agent's heap limit (node --max-old-space-size), MiB: memory must stay bounded. */
  heapMiB?: number;
}

export const DEST = '<dest>';
/** Stands for the image of the archive's volume, vol.img. */
export const SOURCE = '<source>';

const LIST = ['list', DEST];
/** A write command: it lists the archive directory while recovering interrupted writes. */
const SEND = ['send', `--import-other-from=vol.img:|:${SOURCE}`, DEST];

/** Does `act` to the requests of `op` (only the `which`th when given) and passes the rest on. */
function on(op: string, act: (request: Message, io: HostileIO) => void, which?: number): HostileRow['behave'] {
  return (request, io, nth) => (request['op'] === op && (which === undefined || nth === which) ? act(request, io) : io.pass(request));
}

const idOf = (request: Message) => request['id'] as number;
const header = (length: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(length, 0);
  return bytes;
};
const chunkName = (i: number) => `x${i.toString(16).padStart(16, '0')}`;

export const ROWS: readonly HostileRow[] = [
  { name: 'honest', behave: (request, io) => io.pass(request), command: LIST, exit: 0, message: /^$/ },

  // Hello.
  {
    name: 'exit at hello',
    behave: on('hello', (_, io) => io.exit(3, 'fake helper: cannot open the archive')),
    command: LIST,
    exit: 5,
    message: /^Destination not ready to receive commands: .*exited \(exit code 3\); it said: .*cannot open the archive/,
  },
  {
    name: 'hello with another version',
    behave: on('hello', (request, io) => io.send({ id: idOf(request), ok: true, version: 2, helper: 'fake' })),
    command: LIST,
    exit: 5,
    message: /^Destination not ready to receive commands: .*speaks protocol version 2, not 1/,
  },

  // Framing and encoding.
  {
    name: 'oversized frame length',
    behave: on('read', (_, io) => io.raw(Buffer.concat([header(0x7ffffff0), Buffer.alloc(65536)]))),
    command: LIST,
    exit: 5,
    message: /^Destination error: .*bad frame: frame of 2147483632 bytes exceeds the limit/,
  },
  {
    name: 'invalid msgpack',
    behave: on('read', (_, io) => io.raw(Buffer.concat([header(3), Buffer.from([0xc1, 0xc1, 0xc1])]))),
    command: LIST,
    exit: 5,
    message: /^Destination error: .*bad frame: unsupported type byte 0xc1/,
  },
  {
    name: '__proto__ key',
    behave: on('read', (request, io) => io.raw(protoKeyFrame(idOf(request)))),
    command: LIST,
    exit: 5,
    message: /^Destination error: .*bad frame: forbidden map key '__proto__'/,
  },

  // Replies that do not fit the request.
  {
    name: 'field of the wrong type',
    behave: on('stat', (request, io) => io.send({ id: idOf(request), ok: true, stat: { kind: 'file', size: '12', links: 1 } })),
    command: SEND,
    exit: 5,
    message: /^Destination error: .*invalid reply: stat result: .*size/,
  },
  {
    name: 'reply of the wrong type for the op',
    behave: on('read', (request, io) => io.send({ id: idOf(request), ok: true, stat: null })),
    command: LIST,
    exit: 5,
    message: /^Destination error: .*invalid reply: read result: /,
  },
  {
    name: 'acknowledgement of a request that needs a result',
    behave: on('read', (request, io) => io.send({ ok: true, ids: [idOf(request)] })),
    command: LIST,
    exit: 5,
    message: /^Destination error: .*acknowledges read request \d+, which needs a result/,
  },
  {
    name: 'result for a request that has none',
    behave: on('lock', (request, io) => io.send({ id: idOf(request), ok: true, bytes: 1 })),
    command: SEND,
    exit: 5,
    message: /^Destination error: .*sends a result for lock request \d+, which has none/,
  },
  {
    name: 'reply to a request never sent',
    behave: on('read', (request, io) => io.send({ id: idOf(request) + 1000, ok: true, stat: null })),
    command: LIST,
    exit: 5,
    message: /^Destination error: .*invalid reply: answers unknown request \d+/,
  },
  {
    name: 'wrong reply id (an earlier request, already answered)',
    behave: on('read', (request, io) => io.send({ id: idOf(request) - 1, ok: true, size: 0, data: Buffer.alloc(0), more: false }), 1),
    command: LIST,
    exit: 5,
    message: /^Destination error: .*invalid reply: answers unknown request \d+/,
  },
  {
    name: 'list name that is a path',
    behave: on('list', (request, io) => io.send({ id: idOf(request), ok: true, names: ['volinfo', '../../etc/passwd'], more: false })),
    command: SEND,
    exit: 5,
    message: /^Destination error: .*list of \. returned the name "\.\.\/\.\.\/etc\/passwd"/,
  },
  {
    name: 'read larger than asked for',
    behave: on('read', (request, io) =>
      io.send({ id: idOf(request), ok: true, size: (request['max'] as number) + 1, data: Buffer.alloc(8), more: false }),
    ),
    command: LIST,
    exit: 5,
    message: /^Destination error: .*announced (\d+) bytes, over the \d+ asked for/,
  },
  {
    name: 'read with more data than announced',
    behave: on('read', (request, io) => io.send({ id: idOf(request), ok: true, size: 10, data: Buffer.alloc(20), more: false })),
    command: LIST,
    exit: 5,
    message: /^Destination error: .*sent more data than the 10 bytes it announced/,
  },
  {
    name: 'read with less data than announced',
    behave: on('read', (request, io) => io.send({ id: idOf(request), ok: true, size: 100, data: Buffer.alloc(20), more: false })),
    command: LIST,
    exit: 5,
    message: /^Destination error: .*ended after 20 of 100 bytes/,
  },

  // Helpers that go away.
  {
    name: 'exits mid-reply',
    behave: on('read', (request, io) => {
      const reply = { id: idOf(request), ok: true, size: 4, data: Buffer.alloc(4), more: false };
      const whole = Buffer.concat(encodeFrame(reply, Number.MAX_SAFE_INTEGER));
      io.raw(whole.subarray(0, whole.length - 3));
      setTimeout(() => io.exit(0), 50);
    }),
    command: LIST,
    exit: 5,
    message: /^Destination error: .*ended its output in the middle of a frame/,
  },
  {
    name: 'exits mid-stream',
    behave: on('list', (request, io) => {
      io.send({ id: idOf(request), ok: true, names: ['Vol_000001'], more: true });
      setTimeout(() => io.exit(7, 'fake helper: lost the disk'), 50);
    }),
    command: SEND,
    exit: 5,
    message: /^Destination error: .*exited \(exit code 7\); it said: .*lost the disk/,
  },
  {
    name: 'exits',
    behave: on('read', (_, io) => io.exit(7, 'fake helper: lost the disk')),
    command: LIST,
    exit: 5,
    message: /^Destination error: .*exited \(exit code 7\); it said: .*lost the disk/,
  },

  // Hangs: each ends by the idle timeout, the request's deadline or its budget.
  {
    name: 'stall with no bytes',
    behave: on('read', () => {}),
    command: LIST,
    exit: 5,
    message: /^Destination error: .*stopped answering \(nothing for 2 s\)/,
    timeout: 2,
  },
  {
    name: 'byte dribbler (a stat reply, a byte every 2 s)',
    behave: on('stat', (request, io) => io.dribble({ id: idOf(request), ok: true, stat: null }, 2000)),
    command: SEND,
    exit: 5,
    message: /^Destination error: .*did not complete stat of archive\.ini\.tmp within its deadline \(5 s\)/,
  },
  {
    name: 'byte dribbler (a read reply, a byte every 0.5 s)',
    behave: on('read', (request, io) =>
      io.dribble({ id: idOf(request), ok: true, size: 4096, data: Buffer.alloc(4096, 0x41), more: false }, 500),
    ),
    command: LIST,
    exit: 5,
    message: /^Destination error: .*did not complete read of archive\.ini within its deadline \(\d+ s\)/,
  },
  {
    name: 'endless empty read pieces',
    behave: on('read', (request, io) => io.forever(() => ({ id: idOf(request), ok: true, size: 100, data: Buffer.alloc(0), more: true }))),
    command: LIST,
    exit: 5,
    message: /^Destination error: .*read of archive\.ini sent more than \d+ pieces/,
  },
  {
    name: 'endless empty list pieces',
    behave: on('list', (request, io) => io.forever(() => ({ id: idOf(request), ok: true, names: [], more: true }))),
    command: SEND,
    exit: 5,
    message: /^Destination error: .*list of \. sent more than \d+ pieces/,
  },
  {
    name: 'more:true stream that never ends (a name a piece)',
    behave: on('list', (request, io) => io.forever((i) => ({ id: idOf(request), ok: true, names: [chunkName(i)], more: true }))),
    command: SEND,
    exit: 5,
    message: /^Destination error: .*list of \. sent more than \d+ pieces/,
  },
  {
    name: 'list flood (4096 names a piece, for ever)',
    behave: on('list', (request, io) =>
      io.forever((i) => ({
        id: idOf(request),
        ok: true,
        names: Array.from({ length: 4096 }, (_, j) => chunkName(i * 4096 + j)),
        more: true,
      })),
    ),
    command: SEND,
    exit: 5,
    message: /^Destination error: .*list of \. returned more than 1048576 names/,
    heapMiB: 256,
  },
  {
    name: 'list flood (long names)',
    behave: on('list', (request, io) =>
      io.forever((i) => ({
        id: idOf(request),
        ok: true,
        names: Array.from({ length: 4096 }, (_, j) => chunkName(i * 4096 + j).padEnd(255, 'n')),
        more: true,
      })),
    ),
    command: SEND,
    exit: 5,
    message: /^Destination error: .*list of \. returned more than \d+ bytes of names/,
    heapMiB: 256,
  },
];
