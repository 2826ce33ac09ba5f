// receive --local into a plain directory (a file pool; no root needed) when the path is not what
// a receive can write: --local a plain file, a directory or a symbolic link where the volume's
// file goes, a symbolic link among the directories of a volume name. Each is one line naming what
// is wrong, with the documented exit code, and nothing is written, replaced or followed.

import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { fixtureArchive } from '../helpers/paths.js';

const scratch = scratchDir('skiff-receive-paths-');
after(scratch.cleanup);
const plain = `--dest=file:${fixtureArchive('plain-zlib-64k')}`;
const newest = readFileSync(join(fixtureArchive('plain-zlib-64k'), '..', 'vol2.session4.img'));
const receive = (...args: string[]) => runSkiffInProcess(['receive', plain, '--force', ...args]);
const lines = (text: string) => text.split('\n').filter((l) => l !== '');

describe('receive --local: paths a receive cannot write', () => {
  it('--local that is a plain file, or missing: one line naming it (exit 7)', async () => {
    const file = join(scratch.dir, 'plain-file');
    writeFileSync(file, 'not a pool');
    const onFile = await receive('vol2.img', `--local=${file}`);
    assert.equal(onFile.code, 7, onFile.stderr);
    assert.equal(onFile.stderr, `Local path is not a directory: '${file}'\n`);
    assert.equal(readFileSync(file, 'utf8'), 'not a pool');
    const missing = join(scratch.dir, 'no-such-dir');
    const onMissing = await receive('vol2.img', `--local=${missing}`);
    assert.equal(onMissing.code, 7, onMissing.stderr);
    assert.equal(onMissing.stderr, `Local path not found: '${missing}'\n`);
  });

  it("a directory where the volume's file goes: that volume fails in one line (exit 2), the directory is kept", async () => {
    const into = join(scratch.dir, 'dir-in-the-way');
    mkdirSync(join(into, 'vol2.img'), { recursive: true });
    writeFileSync(join(into, 'vol2.img', 'keep'), 'kept');
    const result = await receive('vol2.img', `--local=${into}`);
    assert.equal(result.code, 2, result.stderr);
    assert.deepEqual(lines(result.stderr), [
      `Error: Cannot receive 'vol2.img' into '${join(into, 'vol2.img')}': it is a directory.`,
      'Error on volumes: vol2.img',
    ]);
    assert.equal(readFileSync(join(into, 'vol2.img', 'keep'), 'utf8'), 'kept');
  });

  it("a symbolic link where the volume's file goes is neither followed nor replaced (exit 2); a regular file is received", async () => {
    const into = join(scratch.dir, 'link-in-the-way');
    mkdirSync(into);
    const pointed = join(scratch.dir, 'pointed.img');
    writeFileSync(pointed, 'old data');
    const link = join(into, 'vol2.img');
    symlinkSync(pointed, link);
    const result = await receive('vol2.img', `--local=${into}`);
    assert.equal(result.code, 2, result.stderr);
    assert.deepEqual(lines(result.stderr), [
      `Error: Cannot receive 'vol2.img' into '${link}': it is a symbolic link, which receive --local neither follows nor replaces (--save-to=PATH writes the file it names).`,
      'Error on volumes: vol2.img',
    ]);
    assert.equal(readlinkSync(link), pointed, 'the link is kept');
    assert.equal(readFileSync(pointed, 'utf8'), 'old data', 'the file it names is not written');

    // A dangling link: nothing is created where it points.
    const dangling = join(scratch.dir, 'dangling-into');
    mkdirSync(dangling);
    const nowhere = join(scratch.dir, 'nowhere.img');
    symlinkSync(nowhere, join(dangling, 'vol2.img'));
    assert.equal((await receive('vol2.img', `--local=${dangling}`)).code, 2);
    assert.equal(existsSync(nowhere), false);
    assert.ok(lstatSync(join(dangling, 'vol2.img')).isSymbolicLink());

    // --save-to names the file itself: that is the way to write where the link points.
    const saved = await receive('vol2.img', `--save-to=${pointed}`);
    assert.equal(saved.code, 0, saved.stderr);
    assert.ok(readFileSync(pointed).equals(newest));

    const regular = join(scratch.dir, 'regular-into');
    mkdirSync(regular);
    writeFileSync(join(regular, 'vol2.img'), 'old');
    const good = await receive('vol2.img', `--local=${regular}`);
    assert.equal(good.code, 0, good.stderr);
    assert.ok(readFileSync(join(regular, 'vol2.img')).equals(newest));
  });

  it('a symbolic link among the directories of a local name is not followed (exit 2)', async () => {
    const into = join(scratch.dir, 'sub-link');
    const elsewhere = join(scratch.dir, 'elsewhere');
    mkdirSync(into);
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(into, 'sub'));
    const sets = join(scratch.dir, 'sub-link.json');
    writeFileSync(sets, JSON.stringify({ [into]: [['vol2.img', 'sub/vol2.img']] }));
    const result = await receive(`--vols-from=${sets}`);
    assert.equal(result.code, 2, result.stderr);
    assert.deepEqual(lines(result.stderr), [
      `Error: Cannot receive 'vol2.img' into '${join(into, 'sub/vol2.img')}': '${join(into, 'sub')}' is a symbolic link, which receive --local does not follow.`,
      'Error on volumes: vol2.img',
    ]);
    assert.equal(existsSync(join(elsewhere, 'vol2.img')), false);
    assert.equal(readFileSync(`${sets}.error`, 'utf8'), '{"rc": 2, "volumes": ["vol2.img"]}');
  });
});
