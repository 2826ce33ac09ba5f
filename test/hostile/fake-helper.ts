// A FAKE destination helper for the hostile-helper table (rows.ts): a proxy in front of the
// real helper that hands every request to the row named by HOSTILE_ROW, which answers it
// itself (lies, breaks the framing, dribbles, floods, stalls, exits) or passes it on. Replies of
// the real helper are forwarded as whole frames, held back while the row is writing, so the
// two never interleave inside a frame. Started by the ssh stand-in (ssh-stand-in.ts).

import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { encodeFrame, FrameReader } from '../../protocol/frames.js';
import { LIMITS, MAX_FRAME_BYTES } from '../../protocol/messages.js';
import { helperBundlePath } from '../../source-agent/transport/helper-upload.js';
import { type HostileIO, type Message, ROWS } from './rows.js';

const name = process.env['HOSTILE_ROW'];
// The test runner loads every file under test/ as a test: without a row, do nothing.
const row = ROWS.find((r) => r.name === name);
if (name === undefined) process.exit(0);
if (!row) {
  process.stderr.write(`fake helper: no row ${name}\n`);
  process.exit(2);
}

const real = spawn(process.execPath, [helperBundlePath()], { stdio: ['pipe', 'pipe', 'inherit'] });
real.on('close', (code) => process.exit(code ?? 1));
real.stdin.on('error', () => {});
// The agent went away (it killed us, or closed the pipe): stop whatever the row was doing.
process.stdout.on('error', () => process.exit(0));

/** Output of the real helper waiting while the row holds the stream. */
const held: Buffer[] = [];
let holding = false;
const write = (bytes: Uint8Array): Promise<void> =>
  new Promise((resolve) => {
    if (process.stdout.write(bytes)) resolve();
    else process.stdout.once('drain', resolve);
  });
const frame = (message: Message): Buffer => Buffer.concat(encodeFrame(message, Number.MAX_SAFE_INTEGER));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `work` with the stream to itself; the real helper's replies wait. */
async function hold(work: () => Promise<void>): Promise<void> {
  holding = true;
  await work();
  holding = false;
  for (const bytes of held.splice(0)) await write(bytes);
}

const io: HostileIO = {
  pass: (request) => void real.stdin.write(frame(request)),
  send: (message) => void process.stdout.write(frame(message)),
  raw: (bytes) => void process.stdout.write(bytes),
  dribble: (message, gapMs) =>
    void hold(async () => {
      for (const byte of frame(message)) {
        await write(Buffer.from([byte]));
        await sleep(gapMs);
      }
    }),
  forever: (next) =>
    void hold(async () => {
      for (let i = 0; ; i++) await write(frame(next(i)));
    }),
  exit: (code, words) => {
    if (words) process.stderr.write(`${words}\n`);
    process.exit(code);
  },
};

const fromRealHelper = new FrameReader(MAX_FRAME_BYTES, LIMITS);
real.stdout.on('data', (chunk: Buffer) => {
  for (const reply of fromRealHelper.push(chunk)) {
    const bytes = frame(reply as Message);
    if (holding) held.push(bytes);
    else process.stdout.write(bytes);
  }
});

const fromAgent = new FrameReader(MAX_FRAME_BYTES, LIMITS);
const seen = new Map<string, number>();
process.stdin.on('data', (chunk: Buffer) => {
  for (const value of fromAgent.push(chunk)) {
    const request = value as Message;
    const op = String(request['op']);
    const nth = seen.get(op) ?? 0;
    seen.set(op, nth + 1);
    if (process.env['HOSTILE_LOG']) appendFileSync(process.env['HOSTILE_LOG'], `${op} ${String(request['path'] ?? '')}\n`);
    row.behave(request, io, nth);
  }
});
process.stdin.on('end', () => real.stdin.end());
