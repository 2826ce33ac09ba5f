// A command that fails leaves nothing behind that it made: the --dest directory (and missing
// parents) a failed arch-init or a send to a mistyped --dest created are removed again — only
// those it created, and only while empty.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runSkiff, scratchDir } from '../helpers/cli.js';

const scratch = scratchDir('skiff-leftovers-');
after(scratch.cleanup);

describe('no empty directories left by failed commands', () => {
  it('arch-init with a too-short passphrase removes the directories it made', async () => {
    const dest = join(scratch.dir, 'new', 'parent', 'archive');
    const r = await runSkiff(['arch-init', `--dest=file:${dest}`], { input: 'short\n' });
    assert.notEqual(r.code, 0, r.stderr);
    assert.equal(existsSync(join(scratch.dir, 'new')), false, 'the created parents are gone too');
  });

  it('arch-init keeps a directory that existed before', async () => {
    const dest = join(scratch.dir, 'existing');
    mkdirSync(dest);
    const r = await runSkiff(['arch-init', `--dest=file:${dest}`], { input: 'short\n' });
    assert.notEqual(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(dest), []);
  });

  it('send to a missing --dest exits 6 and creates nothing', async () => {
    const dest = join(scratch.dir, 'typo', 'archive');
    const r = await runSkiff(['send', '-a', `--dest=file:${dest}`]);
    assert.equal(r.code, 6, r.stderr);
    assert.equal(existsSync(join(scratch.dir, 'typo')), false);
  });
});
