// add, rename and delete through the built CLI on a file: archive made by `skiff arch-init`,
// volumes sent with --import-other-from: results on disk, other volumes restore byte-identically,
// arch-check passes; bad input gets one clear line, its documented exit code, and leaves every
// archive file as it was. The delete prompt is answered on a pseudo-terminal.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { VolumeId } from '../../source-agent/archive/names.js';
import { LocalStore } from '../../source-agent/store/local-store.js';
import { errorLines, scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { CLI } from '../helpers/paths.js';
import { hashTree, openArchive, volumeNames, writeSources } from './archive-fixture.js';

const { dir, cleanup } = scratchDir('skiff-volume-cli-');
after(cleanup);
const archiveDir = join(dir, 'archive');
const meta = join(dir, 'meta');
const common = [`--dest=file:${archiveDir}`, `--meta-dir=${meta}`];
// An unencrypted archive and no stdin: the CLI runs in this process (cli-in-process.ts); the
// delete prompt on a terminal below is a real process.
const skiff = (...args: string[]) => runSkiffInProcess([...args, ...common]);
let sources: ReturnType<typeof writeSources>;

async function names(): Promise<Map<string, VolumeId>> {
  return volumeNames(await openArchive(new LocalStore(archiveDir), null));
}

async function assertReceives(volume: string, source: string): Promise<void> {
  const target = join(dir, `restored-${volume.replaceAll('/', '_')}`);
  const result = await skiff('receive', volume, `--save-to=${target}`);
  assert.equal(result.code, 0, result.stderr);
  assert.ok(readFileSync(target).equals(readFileSync(source)), `${volume} restores byte-identically`);
}

before(async () => {
  sources = writeSources(dir, 65536);
  const init = await skiff('arch-init', '--encrypt=off', '--chunk-factor=1');
  assert.equal(init.code, 0, init.stderr);
  for (const args of [
    [
      `--import-other-from=a.img:|:${sources.a1}`,
      `--import-other-from=b.img:|:${sources.b}`,
      `--import-other-from=sub/c.img:|:${sources.c}`,
    ],
    [`--import-other-from=a.img:|:${sources.a2}`],
  ]) {
    const sent = await skiff('send', ...args);
    assert.equal(sent.code, 0, sent.stderr);
  }
});

describe('add, rename, delete (CLI)', () => {
  it('add: empty volumes with their description; existing names are skipped; send to an added volume works', async () => {
    const result = await skiff('add', 'new1.img', 'dir/new2.img', 'b.img', '--volume-desc=Fresh volumes');
    assert.equal(result.code, 0, result.stderr);
    const archive = await openArchive(new LocalStore(archiveDir), null);
    const byName = await volumeNames(archive);
    assert.equal(byName.size, 5);
    for (const name of ['new1.img', 'dir/new2.img']) {
      const vid = byName.get(name) as VolumeId;
      assert.match(vid, /^Vol_[0-9a-f]{6}$/);
      const volinfo = await archive.readVolInfo(vid);
      assert.deepEqual([volinfo.name, volinfo.desc, volinfo.sessions.size], [name, 'Fresh volumes', 0]);
      assert.deepEqual(
        Object.keys(Object.fromEntries(hashTree(join(archiveDir, vid)))).sort(),
        ['volinfo', 'volinfo.bak'],
        'only volinfo (no sessions file, as Wyng)',
      );
    }
    assert.deepEqual(readFileSync(join(archiveDir, 'archive.ini.bak')), readFileSync(join(archiveDir, 'archive.ini')));
    assert.equal((await archive.readVolInfo(byName.get('b.img') as VolumeId)).desc, '', 'an existing volume is untouched');

    const sent = await skiff('send', `--import-other-from=new1.img:|:${sources.c}`);
    assert.equal(sent.code, 0, sent.stderr);
    const after = await names();
    assert.equal(after.get('new1.img'), byName.get('new1.img'), 'send used the added volume');
    await assertReceives('new1.img', sources.c);
  });

  it('rename: only the volinfo name changes; vid and sessions stay', async () => {
    const before = await names();
    const result = await skiff('rename', 'b.img', 'moved/b.img', '--verbose');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Archive volume renamed\.\n/);
    assert.match(result.stdout, /Note: A valid --local location was not specified; no local snapshots will be renamed/);
    const after = await names();
    assert.equal(after.get('moved/b.img'), before.get('b.img'));
    assert.ok(!after.has('b.img'));
    await assertReceives('moved/b.img', sources.b);
  });

  it('delete: the volume, its directory and its listing go; the others stay', async () => {
    const vid = (await names()).get('a.img') as VolumeId;
    const result = await skiff('delete', 'a.img');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Note: A valid --local location was not specified; no volume snapshots will be removed\.\n/);
    assert.match(result.stdout, /\nDeleting volume 'a.img' from archive\.\n/);
    assert.ok(!existsSync(join(archiveDir, vid)));
    const archive = await openArchive(new LocalStore(archiveDir), null);
    assert.ok(!archive.ini.volumes.has(vid));
    assert.deepEqual(archive.ini.inProcess, []);
    await assertReceives('moved/b.img', sources.b);
    await assertReceives('sub/c.img', sources.c);
    const check = await skiff('arch-check');
    assert.equal(check.code, 0, check.stderr + check.stdout);
  });

  it('delete --vid and a metadata volume (needs --force)', async () => {
    assert.equal((await skiff('add', 'wyng-qubes-metadata')).code, 0);
    const vid = (await names()).get('wyng-qubes-metadata') as VolumeId;
    const refused = await skiff('delete', 'wyng-qubes-metadata');
    assert.equal(refused.code, 9);
    assert.deepEqual(errorLines(refused), ['Use --force to delete a metadata volume.']);
    assert.ok((await names()).has('wyng-qubes-metadata'));
    const result = await skiff('delete', `--vid=${vid}`, '--force');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`Deleting volume '${vid}' from archive\\.`));
    assert.ok(!(await names()).has('wyng-qubes-metadata'));
    assert.ok(!existsSync(join(archiveDir, vid)));
  });

  const refusals: [string, string[], number, string[]][] = [
    ['delete of a volume that does not exist', ['delete', 'nonexist.img'], 1, ["Volume 'nonexist.img' not found."]],
    ['delete --vid of an unknown vid', ['delete', '--vid=Vol_000000'], 1, ["Vid 'Vol_000000' not found."]],
    ['delete --vid that is no vid', ['delete', '--vid=../x'], 1, ["Vid '../x' not found."]],
    ['delete without a volume', ['delete'], 9, ['Specify one volume to delete.']],
    ['delete of two volumes', ['delete', 'moved/b.img', 'sub/c.img'], 9, ['Specify one volume to delete.']],
    ['delete with a name and --vid', ['delete', 'moved/b.img', '--vid=Vol_000000'], 9, ['Specify one volume to delete.']],
    ['delete --clean with a volume', ['delete', '--clean', 'sub/c.img', `--local=${dir}`], 9, ['Cannot delete volumes with clean/purge.']],
    ['delete --clean without --local', ['delete', '--clean', '--force'], 9, ['Local storage required for clean/purge.']],
    [
      'delete --purge with a bad value',
      ['delete', '--purge=some', `--local=${dir}`],
      9,
      ["--purge must be 'other' or 'full', not 'some'."],
    ],
    ['delete --clean unattended without --force', ['delete', '--clean', `--local=${dir}`], 1, ['Ignoring clean/purge without --force.']],
    ['rename onto an existing name', ['rename', 'moved/b.img', 'sub/c.img'], 1, ["Error: Cannot rename 'moved/b.img' to 'sub/c.img'."]],
    ['rename onto itself', ['rename', 'sub/c.img', 'sub/c.img'], 1, ["Error: Cannot rename 'sub/c.img' to 'sub/c.img'."]],
    ['rename to an invalid name', ['rename', 'moved/b.img', '../bad'], 1, ["Error: Cannot rename 'moved/b.img' to '../bad'."]],
    ['rename with one name', ['rename', 'moved/b.img'], 9, ['Rename requires two volume names.']],
    ['rename with three names', ['rename', 'moved/b.img', 'x', 'y'], 9, ['Rename requires two volume names.']],
    ['rename of a volume that does not exist', ['rename', 'nonexist.img', 'x.img'], 1, ["Volume 'nonexist.img' not found."]],
    [
      'rename with a too long description',
      ['rename', 'moved/b.img', 'x.img', `--volume-desc=${'é'.repeat(51)}`],
      9,
      ['--volume-desc: a volume description is at most 100 UTF-8 bytes.'],
    ],
    ['add without names', ['add'], 9, ['Volume name(s) required for add.']],
    ['add of an invalid name', ['add', 'sub/../x'], 2, ['Bad volume name. ("sub/../x")', 'Error on volumes: sub/../x']],
    // Controls are printed escaped (protocol/inert-text.ts), even those of the user's own argument.
    [
      'add of a name with a control character',
      ['add', 'a\tb'],
      2,
      ['Non-printable characters not allowed in volume names. ("a\\tb")', 'Error on volumes: a\\tb'],
    ],
    [
      'add with a non-printable description',
      ['add', 'ok.img', '--volume-desc=a\u0007b'],
      9,
      ['--volume-desc: control characters are not allowed in a volume description.'],
    ],
    ['add of only existing names', ['add', 'sub/c.img', 'moved/b.img'], 0, []],
  ];
  for (const [what, args, code, lines] of refusals) {
    it(`bad input: ${what} → exit ${code}, archive unchanged`, async () => {
      const before = hashTree(archiveDir);
      const result = await skiff(...args);
      assert.equal(result.code, code, result.stderr);
      assert.deepEqual(errorLines(result), lines);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
      assert.deepEqual(hashTree(archiveDir), before, 'every archive file unchanged');
    });
  }

  it('add of valid and invalid names: the valid ones are added, exit 2', async () => {
    const result = await skiff('add', 'good.img', '/abs.img');
    assert.equal(result.code, 2);
    assert.deepEqual(errorLines(result), ['Bad volume name. ("/abs.img")', 'Error on volumes: /abs.img']);
    assert.ok((await names()).has('good.img'));
  });
});

/** Runs the CLI on a pseudo-terminal and answers the delete prompt. */
function onTerminal(args: string[], answer: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const quoted = [process.execPath, CLI, ...args, ...common, '--authmin=0'].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qec', quoted, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TZ: 'UTC' } });
    let output = '';
    let answered = false;
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (!answered && output.includes('Are you sure? [y/N]: ')) {
        answered = true;
        child.stdin.write(`${answer}\n`);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

describe('delete asks on a terminal', () => {
  it('"n" keeps the volume (exit 0, archive unchanged); "y" deletes it', async () => {
    const before = hashTree(archiveDir);
    const no = await onTerminal(['delete', 'good.img'], 'n');
    assert.equal(no.code, 0, no.output);
    assert.match(
      no.output,
      /Warning! Delete will remove ALL metadata AND archived data for volume 'good.img'\r?\nAre you sure\? \[y\/N\]: /,
    );
    assert.deepEqual(hashTree(archiveDir), before);
    const yes = await onTerminal(['delete', 'good.img'], 'y');
    assert.equal(yes.code, 0, yes.output);
    assert.match(yes.output, /Deleting volume 'good.img' from archive\./);
    assert.ok(!(await names()).has('good.img'));
  });
});
