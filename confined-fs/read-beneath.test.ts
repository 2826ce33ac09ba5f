// BeneathReader's reads overlap (a receive worker has several chunk files in flight): each must
// still get exactly its own file, confined beneath the root, with the same refusals as one at a
// time, and the directory it holds must not outlive `release`.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BeneathReader } from './read-beneath.js';

const dir = mkdtempSync(join(tmpdir(), 'skiff-read-beneath-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A root with directories a/ and b/ of files whose bytes say their name, and a descriptor of it. */
function archiveRoot(name: string): { root: string; rootFd: number; content: (path: string) => Buffer } {
  const root = join(dir, name);
  const content = (path: string) => Buffer.from(`${path}:`.repeat(1000 + path.length));
  for (const sub of ['a', 'b']) {
    mkdirSync(join(root, sub), { recursive: true });
    for (let i = 0; i < 8; i++) writeFileSync(join(root, sub, `x${i}`), content(`${sub}/x${i}`));
  }
  return { root, rootFd: openSync(root, 'r'), content };
}

/** The descriptors this process holds open (to see that a release closed the held directory). */
function openDescriptors(): number {
  return readdirSync('/proc/self/fd').length;
}

describe('BeneathReader', () => {
  it('overlapping reads, in one directory and across two, each fill their own buffer', async () => {
    const { rootFd, content } = archiveRoot('overlap');
    try {
      const reader = new BeneathReader(rootFd);
      const paths = ['a/x0', 'a/x1', 'a/x2', 'b/x3', 'b/x4', 'a/x5', 'a/x6', 'b/x7'];
      const buffers = paths.map(() => Buffer.alloc(64 * 1024));
      const sizes = await Promise.all(paths.map((path, i) => reader.read(path, buffers[i] as Buffer)));
      paths.forEach((path, i) => {
        assert.ok((buffers[i] as Buffer).subarray(0, sizes[i]).equals(content(path)), path);
      });
      reader.release();
    } finally {
      closeSync(rootFd);
    }
  });

  it('holds one directory at most, and none after release', async () => {
    const { rootFd } = archiveRoot('held');
    try {
      const buffer = Buffer.alloc(64 * 1024);
      const warmUp = new BeneathReader(rootFd); // libuv's own descriptors, if any, exist from here on
      await warmUp.read('a/x0', buffer);
      warmUp.release();
      const before = openDescriptors();
      const reader = new BeneathReader(rootFd);
      await reader.read('a/x0', buffer);
      await Promise.all([reader.read('a/x1', buffer), reader.read('b/x1', Buffer.alloc(64 * 1024))]);
      assert.equal(openDescriptors(), before + 1, 'one directory held between reads');
      reader.release();
      assert.equal(openDescriptors(), before);
    } finally {
      closeSync(rootFd);
    }
  });

  it('refuses what a single read refuses: a bad path, a file over the bound, a FIFO (without blocking), a link', async () => {
    const { root, rootFd } = archiveRoot('refusals');
    execFileSync('mkfifo', [join(root, 'a', 'fifo')]);
    symlinkSync('/etc/passwd', join(root, 'a', 'link'));
    try {
      const reader = new BeneathReader(rootFd);
      const buffer = Buffer.alloc(64 * 1024);
      const failures = await Promise.allSettled([
        reader.read('../a/x0', buffer),
        reader.read('a/x0', Buffer.alloc(100)),
        reader.read('a/fifo', buffer),
        reader.read('a/link', buffer),
        reader.read('a/x1', buffer),
      ]);
      const codes = failures.map((f) => (f.status === 'rejected' ? (f.reason as { code?: string }).code : 'read'));
      assert.deepEqual(codes, ['EINVAL', 'TOO_LARGE', 'EINVAL', 'ELOOP', 'read']);
      reader.release();
    } finally {
      closeSync(rootFd);
    }
  });

  it('a directory swapped for a link between two reads is refused, never followed', async () => {
    const { root, rootFd } = archiveRoot('swapped');
    const outside = join(dir, 'outside');
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, 'x0'), 'outside');
    try {
      const reader = new BeneathReader(rootFd);
      const buffer = Buffer.alloc(64 * 1024);
      await reader.read('b/x0', buffer);
      reader.release();
      renameSync(join(root, 'a'), join(root, 'a-old'));
      symlinkSync(outside, join(root, 'a'));
      await assert.rejects(reader.read('a/x0', buffer), (error: { code?: string }) => error.code === 'EACCES');
      reader.release();
    } finally {
      closeSync(rootFd);
    }
  });
});
