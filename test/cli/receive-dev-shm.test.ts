// receive --save-to a new file under /dev/shm (tmpfs, where the core-scaling bench works): a
// missing /dev path is refused as an absent device, but /dev/shm holds ordinary files.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runSkiff } from '../helpers/cli.js';
import { FIXTURES, fixtureArchive } from '../helpers/paths.js';

describe('receive into /dev/shm', () => {
  it('creates the file there', async (t) => {
    if (!existsSync('/dev/shm')) return t.skip('no /dev/shm');
    const dir = mkdtempSync('/dev/shm/skiff-test-');
    try {
      const target = join(dir, 'vol2.img');
      const r = await runSkiff([`--dest=file:${fixtureArchive('plain-zlib-64k')}`, 'receive', 'vol2.img', `--save-to=${target}`]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(readFileSync(target).equals(readFileSync(join(FIXTURES, 'plain-zlib-64k/vol2.session4.img'))));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
