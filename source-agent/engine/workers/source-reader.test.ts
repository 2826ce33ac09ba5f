// The send workers' reads of the source: direct (around the page cache) where the file system
// allows, the same bytes through the cache where it refuses, never more than the volume.

import assert from 'node:assert/strict';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ALIGN, alignedLength, READ_AHEAD_TOTAL_BYTES, type ReadAt, readAheadPerWorker, SourceReader } from './source-reader.js';

const dir = mkdtempSync(join(tmpdir(), 'skiff-source-reader-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Not a multiple of ALIGN: the last read is short.
const content = Buffer.from(Array.from({ length: 3 * 65536 + 1000 }, (_, i) => (i * 7 + (i >> 9)) & 0xff));
const path = join(dir, 'volume.img');
writeFileSync(path, content);

/** Whether this file system takes O_DIRECT (tmpfs before Linux 6.6 does not): where not, the direct cases check the fallback. */
const DIRECT = (() => {
  try {
    closeSync(openSync(path, constants.O_RDONLY | constants.O_DIRECT));
    return true;
  } catch {
    return false;
  }
})();

/**
 * The source's descriptors: 'direct' a real O_DIRECT one (none where the file system refuses it),
 * 'stand-in' a plain second descriptor in its place (for readers whose reads are simulated).
 */
async function withSource<T>(
  direct: 'direct' | 'none' | 'stand-in',
  use: (fds: { fd: number; directFd: number }) => Promise<T>,
): Promise<T> {
  const fd = openSync(path, 'r');
  const directFd =
    direct === 'stand-in'
      ? openSync(path, 'r')
      : direct === 'direct' && DIRECT
        ? openSync(path, constants.O_RDONLY | constants.O_DIRECT)
        : -1;
  try {
    return await use({ fd, directFd });
  } finally {
    closeSync(fd);
    if (directFd >= 0) closeSync(directFd);
  }
}

/** Reads like the worker: into a buffer from the reader, at an aligned offset in it. */
async function readVia(reader: SourceReader, fds: { fd: number; directFd: number }, position: number, length: number): Promise<Buffer> {
  const buffer = await reader.take(ALIGN + alignedLength(length));
  try {
    return Buffer.from(await reader.read(fds, position, length, buffer, ALIGN));
  } finally {
    reader.give(buffer);
  }
}

/** A worker's read-ahead limit on 2 cores. */
const LIMIT = readAheadPerWorker(2);

const syncRead: ReadAt = async (fd, buffer, offset, length, position) => readSync(fd, buffer, offset, length, position);

describe('SourceReader', () => {
  it('reads direct: the exact bytes, a short last run, nothing past the asked length', async () => {
    await withSource('direct', async (fds) => {
      const reader = new SourceReader(LIMIT);
      assert.ok((await readVia(reader, fds, 0, 65536)).equals(content.subarray(0, 65536)));
      assert.ok(
        (await readVia(reader, fds, 65536, 100)).equals(content.subarray(65536, 65636)),
        'a length that is not a multiple of ALIGN',
      );
      const tail = await readVia(reader, fds, 3 * 65536, 65536);
      assert.ok(tail.equals(content.subarray(3 * 65536)), 'the run ends with the file');
      // Still direct: the page-aligned buffers and the rounded lengths were accepted.
      assert.equal(reader.direct(fds), DIRECT);
    });
  });

  it('reads through the cache where there is no direct descriptor, or at an unaligned offset', async () => {
    await withSource('none', async (fds) => {
      const reader = new SourceReader(LIMIT);
      assert.equal(reader.direct(fds), false);
      assert.ok((await readVia(reader, fds, 65536, 70000)).equals(content.subarray(65536, 135536)));
    });
    await withSource('direct', async (fds) => {
      const reader = new SourceReader(LIMIT);
      assert.ok((await readVia(reader, fds, ALIGN + 1, 5000)).equals(content.subarray(ALIGN + 1, ALIGN + 5001)));
      assert.equal(reader.direct(fds), DIRECT, 'an unaligned offset does not give up direct reads');
    });
  });

  it('falls back to the cache for good when a direct read is refused (EINVAL), with the same bytes', async () => {
    await withSource('stand-in', async (fds) => {
      const refused: number[] = [];
      const reader = new SourceReader(LIMIT, async (fd, buffer, offset, length, position) => {
        if (fd === fds.directFd) {
          refused.push(position);
          throw Object.assign(new Error('EINVAL: invalid argument, read'), { code: 'EINVAL' });
        }
        return syncRead(fd, buffer, offset, length, position);
      });
      assert.ok((await readVia(reader, fds, 0, 65536)).equals(content.subarray(0, 65536)));
      assert.ok((await readVia(reader, fds, 65536, 65536)).equals(content.subarray(65536, 131072)));
      assert.deepEqual(refused, [0], 'asked once, then never again');
      assert.equal(reader.direct(fds), false);
    });
  });

  it('passes other read errors on', async () => {
    await withSource('stand-in', async (fds) => {
      const reader = new SourceReader(LIMIT, async () => {
        throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
      });
      await assert.rejects(readVia(reader, fds, 0, 4096), /EIO/);
    });
  });

  it('gives buffers back for the next batches', async () => {
    const reader = new SourceReader(LIMIT);
    const first = await reader.take(100_000);
    reader.give(first);
    assert.equal(await reader.take(50_000), first, 'a buffer given back is used again');
    assert.notEqual(await reader.take(50_000), first, 'and only once at a time');
  });

  it('reads ahead at most its limit, one buffer always, in the order of asking', async () => {
    const reader = new SourceReader(100_000, syncRead);
    const order: string[] = [];
    const taking = async (name: string, bytes: number) => {
      const buffer = await reader.take(bytes);
      order.push(name);
      return buffer;
    };
    const big = await reader.take(150_000); // over the limit, but nothing else is taken
    const second = taking('second', 60_000);
    const third = taking('third', 10_000);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(order.join(), '', 'both wait while 150 000 bytes are taken (the third behind the second)');
    reader.give(big);
    const [b2, b3] = await Promise.all([second, third]);
    assert.equal(order.join(), 'second,third');
    const fourth = taking('fourth', 40_000);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(order.join(), 'second,third', '70 000 taken: 40 000 more would pass the limit');
    reader.give(b2);
    reader.give(await fourth);
    reader.give(b3);
    assert.equal(order.join(), 'second,third,fourth');
  });

  it('shares one read-ahead budget among the workers: memory does not grow with the cores', () => {
    assert.equal(readAheadPerWorker(2), 16 * 1024 * 1024);
    for (const workers of [1, 2, 3, 4, 16, 64]) {
      assert.ok(workers * readAheadPerWorker(workers) <= READ_AHEAD_TOTAL_BYTES, `${workers} workers`);
    }
  });
});
