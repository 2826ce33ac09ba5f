// The CPU a chunk costs in the format's own work, one stage at a time on one thread: the floor
// under any send or receive of an encrypted zstd archive, whatever the pipeline. Run by hand:
//
//   npm run build && node dist/bench/cpu-floor.js [MiB, default 1024]
//
// The data is the mixed volume of the other benches (bench/mixed-volume.ts: half random, a
// quarter zeros, a quarter text), cut into 128 KiB chunks (Wyng's default chunk size) in memory,
// so no I/O is counted. Send per chunk: zero check, zstd:3, HMAC-SHA256, XChaCha20; receive:
// XChaCha20, HMAC-SHA256, zstd decompression. Divided by the cores, the total is the shortest a
// full send or receive of the volume can take on this machine (issue 17: a "5× Wyng" send on two
// cores needs less CPU than this floor leaves room for).

import { randomBytes, randomFillSync } from 'node:crypto';
import { makeCodec } from '../source-agent/archive/compression/index.js';
import { xchacha20Xor } from '../source-agent/archive/crypto/xchacha20.js';
import { hmacSha256DataHasher } from '../source-agent/archive/hash.js';

const MiB = 1024 * 1024;
const CHUNK = 128 * 1024;
const size = Number(process.argv[2] ?? 1024);
const say = (line: string) => process.stdout.write(`${line}\n`);

const codec = makeCodec('zstd', 3);
const hasher = hmacSha256DataHasher(randomBytes(32));
const key = randomBytes(32);
const zeros = Buffer.alloc(CHUNK);
const words = Buffer.from('backup volume snapshot session chunk archive thin pool extent reflink delta qubes dom0 \n'.repeat(12000));
const block = Buffer.allocUnsafe(MiB);
const scratch = Buffer.allocUnsafe(codec.maxCompressedBytes(CHUNK));
const out = Buffer.allocUnsafe(codec.maxCompressedBytes(CHUNK) + 64);
const back = Buffer.allocUnsafe(CHUNK);

const cost = { zero: 0n, compress: 0n, hash: 0n, encrypt: 0n, decrypt: 0n, rehash: 0n, decompress: 0n };
type Stage = keyof typeof cost;
function timed<T>(stage: Stage, work: () => T): T {
  const start = process.hrtime.bigint();
  const result = work();
  cost[stage] += process.hrtime.bigint() - start;
  return result;
}

let stored = 0;
for (let i = 0; i < size; i++) {
  const kind = i % 4;
  if (kind < 2) randomFillSync(block);
  else if (kind === 2) block.fill(0);
  else words.copy(block, 0, i % 64, (i % 64) + MiB);
  for (let at = 0; at < MiB; at += CHUNK) {
    const chunk = block.subarray(at, at + CHUNK);
    if (timed('zero', () => chunk.equals(zeros))) continue;
    const compressed = scratch.subarray(
      0,
      timed('compress', () => codec.compressInto(chunk, scratch)),
    );
    timed('hash', () => hasher.digest(compressed));
    const nonce = randomBytes(24);
    const sealed = timed('encrypt', () => xchacha20Xor(key, nonce, compressed, out));
    stored += sealed.length;
    const opened = timed('decrypt', () => xchacha20Xor(key, nonce, sealed));
    timed('rehash', () => hasher.digest(opened));
    timed('decompress', () => codec.decompressInto(opened, back));
  }
}

const s = (ns: bigint) => Number(ns) / 1e9;
const send = s(cost.zero + cost.compress + cost.hash + cost.encrypt);
const receive = s(cost.decrypt + cost.rehash + cost.decompress);
say(`${size} MiB mixed, ${(stored / MiB).toFixed(0)} MiB stored; one thread, core-seconds:`);
for (const [stage, ns] of Object.entries(cost)) say(`  ${stage.padEnd(10)} ${s(ns).toFixed(3)}`);
say(
  `send: ${send.toFixed(2)} core-s (floor on 2 cores ${(send / 2).toFixed(2)} s); receive: ${receive.toFixed(2)} core-s (floor on 2 cores ${(receive / 2).toFixed(2)} s)`,
);
