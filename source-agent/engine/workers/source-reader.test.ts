// The send workers' reads of the source: direct (around the page cache) where the file system
// allows, the same bytes through the cache where it refuses, never more than the volume.

import assert from 'node:assert/strict';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ALIGN, type ReadAt, SourceReader } from './source-reader.js';

const dir = mkdtempSync(join(tmpdir(), 'skiff-source-reader-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Not a multiple of ALIGN: the last read is short.
const content = Buffer.from(Array.from({ length: 3 * 65536 + 1000 }, (_, i) => (i * 7 + (i >> 9)) & 0xff));
const path = join(dir, 'volume.img');
writeFileSync(path, content);

function withSource<T>(direct: boolean, use: (fds: { fd: number; directFd: number }) => T): T {
  const fd = openSync(path, 'r');
  const directFd = direct ? openSync(path, constants.O_RDONLY | constants.O_DIRECT) : -1;
  try {
    return use({ fd, directFd });
  } finally {
    closeSync(fd);
    if (directFd >= 0) closeSync(directFd);
  }
}

describe('SourceReader', () => {
  it('reads direct: the exact bytes, a short last run, nothing past the asked length', () => {
    withSource(true, (fds) => {
      const reader = new SourceReader();
      assert.ok(reader.read(fds, 0, 65536).equals(content.subarray(0, 65536)));
      assert.ok(reader.read(fds, 65536, 100).equals(content.subarray(65536, 65636)), 'a length that is not a multiple of ALIGN');
      const tail = reader.read(fds, 3 * 65536, 65536);
      assert.ok(tail.equals(content.subarray(3 * 65536)), 'the run ends with the file');
      // Still direct: the page-aligned buffer and the rounded lengths were accepted.
      assert.equal(reader.direct(fds), true);
    });
  });

  it('reads through the cache where there is no direct descriptor, or at an unaligned offset', () => {
    withSource(false, (fds) => {
      const reader = new SourceReader();
      assert.equal(reader.direct(fds), false);
      assert.ok(reader.read(fds, 65536, 70000).equals(content.subarray(65536, 135536)));
    });
    withSource(true, (fds) => {
      const reader = new SourceReader();
      assert.ok(reader.read(fds, ALIGN + 1, 5000).equals(content.subarray(ALIGN + 1, ALIGN + 5001)));
      assert.equal(reader.direct(fds), true, 'an unaligned offset does not give up direct reads');
    });
  });

  it('falls back to the cache for good when a direct read is refused (EINVAL), with the same bytes', () => {
    withSource(true, (fds) => {
      const refused: number[] = [];
      const readAt: ReadAt = (fd, buffer, offset, length, position) => {
        if (fd === fds.directFd) {
          refused.push(position);
          throw Object.assign(new Error('EINVAL: invalid argument, read'), { code: 'EINVAL' });
        }
        return readSync(fd, buffer, offset, length, position);
      };
      const reader = new SourceReader(readAt);
      assert.ok(reader.read(fds, 0, 65536).equals(content.subarray(0, 65536)));
      assert.ok(reader.read(fds, 65536, 65536).equals(content.subarray(65536, 131072)));
      assert.deepEqual(refused, [0], 'asked once, then never again');
      assert.equal(reader.direct(fds), false);
    });
  });

  it('passes other read errors on', () => {
    withSource(true, (fds) => {
      const reader = new SourceReader(() => {
        throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
      });
      assert.throws(() => reader.read(fds, 0, 4096), /EIO/);
    });
  });
});
