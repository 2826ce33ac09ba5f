// The helper keeps every operation inside the archive directory: unclean paths, symlinked
// directories and symlinked or special files are refused, and nothing outside is touched.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openArchive } from './confine.js';
import { HelperError } from './helper-error.js';
import { Operations } from './operations.js';

const base = mkdtempSync(join(tmpdir(), 'skiff-confine-'));
after(() => rmSync(base, { recursive: true, force: true }));
let n = 0;

/** An archive directory with a planted link to a directory outside, holding a file. */
async function setup(): Promise<{ ops: Operations; root: string; outside: string }> {
  const root = join(base, `archive${n}`);
  const outside = join(base, `outside${n++}`);
  mkdirSync(root);
  mkdirSync(join(outside, 'S_1'), { recursive: true });
  writeFileSync(join(outside, 'secret'), 'outside data');
  writeFileSync(join(outside, 'S_1', 'info'), 'outside info');
  symlinkSync(outside, join(root, 'Vol_link'));
  symlinkSync(join(outside, 'secret'), join(root, 'archive.ini'));
  return { ops: new Operations(await openArchive(root, false)), root, outside };
}

async function refused(operation: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(operation, (error: unknown) => {
    const actual = error instanceof HelperError ? error.code : (error as NodeJS.ErrnoException).code;
    assert.equal(actual, code, String(error));
    return true;
  });
}

describe('dest-helper path confinement', () => {
  it('refuses unclean paths before touching the file system', async () => {
    const { ops } = await setup();
    for (const path of ['', '/etc/passwd', '../x', 'a/../../x', 'a//b', './a', 'a/', 'nul\0']) {
      await refused(ops.stat(path), 'EINVAL');
      await refused(ops.startWrite(path, 'new'), 'EINVAL');
      await refused(ops.removeTree(path), 'EINVAL');
    }
  });

  it('does not follow a symlinked directory out of the archive', async () => {
    const { ops, outside } = await setup();
    await refused(ops.startWrite('Vol_link/S_2/info', 'new'), 'EACCES');
    await refused(ops.startWrite('Vol_link/new', 'replace'), 'EACCES');
    await refused(
      ops.read('Vol_link/secret', 100, async () => {}),
      'EACCES',
    );
    await refused(
      ops.list('Vol_link', async () => {}),
      'EACCES',
    );
    await refused(ops.removeTree('Vol_link/S_1'), 'EACCES');
    await refused(ops.remove('Vol_link/secret'), 'EACCES');
    await refused(ops.rename([['Vol_link/secret', 'stolen']]), 'EACCES');
    await refused(ops.link('Vol_link/secret', 'hardlink'), 'EACCES');
    await refused(ops.mkdir('Vol_link/S_3'), 'EACCES');
    // Everything outside is as it was.
    assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'outside data');
    assert.equal(readFileSync(join(outside, 'S_1', 'info'), 'utf8'), 'outside info');
    assert.equal(existsSync(join(outside, 'S_2')), false);
    assert.equal(existsSync(join(outside, 'S_3')), false);
  });

  it('does not read through a symlinked file, and reports links as "other"', async () => {
    const { ops } = await setup();
    await refused(
      ops.read('archive.ini', 100, async () => {}),
      'ELOOP',
    );
    assert.equal((await ops.stat('archive.ini'))?.kind, 'other');
    // Removing the link removes the link, not its target.
    await ops.removeTree('Vol_link');
    assert.equal(await ops.stat('Vol_link'), null);
  });

  it('refuses to read device files and FIFOs without blocking on them', async () => {
    const { ops, root } = await setup();
    execFileSync('mkfifo', [join(root, 'fifo')]);
    await refused(
      ops.read('fifo', 100, async () => {}),
      'EINVAL',
    );
    if (process.getuid?.() === 0) {
      execFileSync('mknod', [join(root, 'null'), 'c', '1', '3']);
      await refused(
        ops.read('null', 100, async () => {}),
        'EINVAL',
      );
    }
  });

  it('never removes the archive directory itself', async () => {
    const { ops, root } = await setup();
    await refused(ops.removeTree('.'), 'EINVAL');
    assert.ok(existsSync(root));
  });
});
