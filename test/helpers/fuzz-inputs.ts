// Inputs for the fuzz tests (protocol/fuzz.test.ts, the helper connection's): a seeded PRNG,
// one valid message of every protocol shape, and ways to damage them: bit flips, truncation,
// length fields, splices, inserted, overwritten and duplicated bytes, re-framed mutated bodies,
// well-formed messages of random shape, and random bytes.

import { encodeFrame } from '../../protocol/frames.js';
import { MAX_FRAME_BYTES } from '../../protocol/messages.js';
import type { Value } from '../../protocol/msgpack.js';

/** mulberry32: small, fast, and the same sequence everywhere for one seed. */
export function prng(seed: number): { next: () => number; below: (n: number) => number } {
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
export type Rng = ReturnType<typeof prng>;

const bytes = (n: number, fill: number) => Buffer.alloc(n, fill);

/** One valid message of every shape the protocol has, requests and replies. */
export const CORPUS: Value[] = [
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
export const FRAMES = CORPUS.map((message) => Buffer.concat(encodeFrame(message, MAX_FRAME_BYTES)));

/** Byte values that start msgpack types with lengths, and those that are never valid. */
const TYPE_BYTES = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc1, 0xc4, 0xc5, 0xc6, 0xc7, 0xca, 0xcb, 0xcf, 0xd3, 0xd9];
const MORE_TYPE_BYTES = [0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff];

export function mutate(frame: Buffer, rng: Rng): Buffer {
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

export function randomFrame(rng: Rng): Buffer {
  const body = Buffer.from(Array.from({ length: rng.below(200) }, () => rng.below(256)));
  if (rng.below(2) === 0) return body; // not even a header
  const header = Buffer.alloc(4);
  header.writeUInt32BE(rng.below(2) === 0 ? body.length : rng.below(body.length + 8), 0);
  return Buffer.concat([header, body]);
}

/** A frame whose body is mutated and whose length field is then made right again. */
export function reframed(frame: Buffer, rng: Rng): Buffer {
  const body = mutate(Buffer.concat([Buffer.alloc(4), frame.subarray(4)]), rng).subarray(4);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

const FIELDS = ['op', 'id', 'ok', 'path', 'data', 'names', 'more', 'size', 'max', 'stat', 'ids', 'code', 'message', 'version', 'pairs'];
const OPS = ['hello', 'stat', 'list', 'read', 'write', 'more', 'rename', 'bye', 'nope', '__proto__'];

/** A well-formed message of random shape, made of the protocol's own field names and values. */
export function randomMessage(rng: Rng, depth = 0): Value {
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
export function stream(rng: Rng): Buffer {
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
