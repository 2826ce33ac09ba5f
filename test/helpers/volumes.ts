// Deterministic volume images for tests: incompressible, zero and text-like regions, and in-place
// changes that touch known chunks.

import { createCipheriv } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';

export function keystream(seed: string, length: number): Buffer {
  const key = Buffer.alloc(32);
  key.write(seed);
  return createCipheriv('chacha20', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

/** `chunks` chunks of `chunkSize` plus `tail` bytes, cycling random / zero / text / half-zero. */
export function makeVolume(seed: string, chunkSize: number, chunks: number, tail = 0): Buffer {
  const random = keystream(seed, chunkSize * chunks + tail);
  const out = Buffer.alloc(chunkSize * chunks + tail);
  for (let i = 0; i * chunkSize < out.length; i++) {
    const start = i * chunkSize;
    const end = Math.min(out.length, start + chunkSize);
    switch (i % 4) {
      case 0:
        random.copy(out, start, start, end);
        break;
      case 1:
        break; // zeros
      case 2:
        out.write(
          `line ${i} of ${seed}: the quick brown fox\n`.repeat(Math.ceil((end - start) / 30)).slice(0, end - start),
          start,
          'latin1',
        );
        break;
      default:
        random.copy(out, start, start, start + Math.floor((end - start) / 2));
    }
  }
  return out;
}

/** Writes `data` at `offset` in place (no truncation), as a VM writing to its disk would. */
export function writeAt(path: string, offset: number, data: Buffer): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, data, 0, data.length, offset);
  } finally {
    closeSync(fd);
  }
}
