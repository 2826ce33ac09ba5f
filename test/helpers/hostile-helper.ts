// A FAKE destination helper for the hostile-helper tests: it answers hello correctly, then
// misbehaves in the way named by HOSTILE_BEHAVIOR (or argv[2]). "flip-chunks" and
// "inject-names" are proxies in front of the real helper: the first damages every chunk file it
// returns, the second adds names with terminal controls to every listing.
//
//   node dist/test/helpers/hostile-helper.js <behavior>

import { spawn } from 'node:child_process';
import { encodeFrame, FrameReader } from '../../protocol/frames.js';
import { LIMITS, MAX_FRAME_BYTES, PROTOCOL_VERSION } from '../../protocol/messages.js';
import { encode, type Value } from '../../protocol/msgpack.js';
import { helperBundlePath } from '../../source-agent/transport/helper-upload.js';
import { protoKeyFrame } from './hostile-frames.js';
import { ATTACK, ATTACK_NAMES } from './hostile-text.js';

type Message = { [key: string]: Value };
const behavior = process.argv[2] ?? process.env['HOSTILE_BEHAVIOR'];
// The test runner loads every file under test/ as a test: without a behavior, do nothing.
if (behavior === undefined) process.exit(0);
const send = (message: Message): boolean => {
  let ok = true;
  for (const piece of encodeFrame(message, Number.MAX_SAFE_INTEGER)) ok = process.stdout.write(piece);
  return ok;
};
const raw = (bytes: Buffer): boolean => process.stdout.write(bytes);

if (behavior === 'flip-chunks' || behavior === 'inject-names') proxy(behavior);
else fake();

function fake(): void {
  const reader = new FrameReader(MAX_FRAME_BYTES, LIMITS);
  process.stdin.on('data', (chunk: Buffer) => {
    for (const value of reader.push(chunk)) respond(value as Message);
  });
  // Also what happens when the test runner loads this file as a test (it is under test/).
  process.stdin.on('end', () => process.exit(0));
}

function respond(request: Message): boolean | undefined {
  const id = request['id'] as number;
  if (request['op'] === 'hello') {
    if (behavior === 'bad-version') return send({ id, ok: true, version: PROTOCOL_VERSION + 1, helper: 'fake' });
    if (behavior === 'exit-at-hello') {
      process.stderr.write('fake helper: cannot open the archive\n');
      process.exit(3);
    }
    return send({ id, ok: true, version: PROTOCOL_VERSION, helper: 'fake' });
  }
  const op = request['op'];
  switch (behavior) {
    case 'silent':
      return;
    case 'oversized': {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(0x7ffffff0, 0);
      raw(header);
      raw(Buffer.alloc(65536));
      return;
    }
    case 'garbage': {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(3, 0);
      raw(Buffer.concat([header, Buffer.from([0xc1, 0xc1, 0xc1])]));
      return;
    }
    case 'wrong-type':
      return send({ id, ok: true, stat: { kind: 'file', size: '12', links: 1 } });
    case 'unknown-id':
      return send({ id: id + 1000, ok: true, stat: null });
    case 'ack-result':
      return send({ ok: true, ids: [id] });
    case 'bad-names':
      return send({ id, ok: true, names: op === 'list' ? ['volinfo', '../../etc/passwd'] : [], more: false });
    case 'huge-read':
      return send({ id, ok: true, size: (request['max'] as number) + 1, data: Buffer.alloc(8), more: false });
    case 'overlong-read':
      return send({ id, ok: true, size: 10, data: Buffer.alloc(20), more: false });
    case 'short-read':
      return send({ id, ok: true, size: 100, data: Buffer.alloc(20), more: false });
    case 'proto-keys':
      raw(protoKeyFrame(id));
      return;
    case 'truncated': {
      const frame = Buffer.concat(encodeFrame({ id, ok: true, stat: null }, MAX_FRAME_BYTES));
      raw(frame.subarray(0, frame.length - 3));
      setTimeout(() => process.exit(0), 50);
      return;
    }
    case 'exit':
      process.stderr.write('fake helper: lost the disk\n');
      return process.exit(7);
    // Terminal injection: escape sequences and a fake verdict line in what the agent may print.
    case 'inject-error':
      return send({ id, ok: false, code: 'EIO', message: ATTACK });
    case 'inject-key': {
      // A frame that breaks the msgpack rules with the attack in the map key it repeats.
      const body = Buffer.concat([
        Buffer.from([0x83]),
        encode(ATTACK),
        encode(true),
        encode(ATTACK),
        encode(true),
        encode('id'),
        encode(id),
      ]);
      const header = Buffer.alloc(4);
      header.writeUInt32BE(body.length, 0);
      raw(Buffer.concat([header, body]));
      return;
    }
    case 'inject-stderr':
      process.stderr.write(`${ATTACK}\n`);
      return process.exit(7);
  }
  return undefined;
}

/**
 * The real helper behind a proxy: "flip-chunks" flips the last byte of every chunk file read,
 * "inject-names" adds ATTACK_NAMES to the last piece of every listing.
 */
function proxy(kind: 'flip-chunks' | 'inject-names'): void {
  const real = spawn(process.execPath, [helperBundlePath()], { stdio: ['pipe', 'pipe', 'inherit'] });
  const chunkReads = new Set<number>();
  const lists = new Set<number>();
  const fromAgent = new FrameReader(MAX_FRAME_BYTES, LIMITS);
  const fromHelper = new FrameReader(MAX_FRAME_BYTES, LIMITS);
  process.stdin.on('data', (chunk: Buffer) => {
    for (const value of fromAgent.push(chunk)) {
      const request = value as Message;
      if (request['op'] === 'read' && /\/x[0-9a-f]{16}$/.test(request['path'] as string)) chunkReads.add(request['id'] as number);
      if (request['op'] === 'list') lists.add(request['id'] as number);
    }
    real.stdin.write(chunk);
  });
  process.stdin.on('end', () => real.stdin.end());
  real.stdout.on('data', (chunk: Buffer) => {
    for (const value of fromHelper.push(chunk)) {
      const reply = value as Message;
      const data = reply['data'];
      const names = reply['names'];
      if (kind === 'inject-names' && lists.has(reply['id'] as number) && Array.isArray(names) && reply['more'] !== true) {
        reply['names'] = [...names, ...ATTACK_NAMES];
      }
      if (kind === 'flip-chunks' && chunkReads.has(reply['id'] as number) && data instanceof Uint8Array && data.length > 0) {
        const damaged = Buffer.from(data);
        damaged[damaged.length - 1] = (damaged[damaged.length - 1] as number) ^ 1;
        reply['data'] = damaged;
      }
      send(reply);
    }
  });
  real.on('close', (code) => process.exit(code ?? 1));
}
