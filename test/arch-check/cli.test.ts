// arch-check's repairs through the built CLI, on private copies of Wyng-made archives:
// --clean removes exactly the leftovers, a damaged volume is rewound with --force (and only
// then), --change-uuid stores the new uuid and the archive goes on working, and bad input gets
// its exit code without changing anything.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { copyArchive, ENCRYPTED, ENCRYPTED_IMAGES, fixtureImage, PLAIN, PLAIN_SESSIONS, treeOf } from './helpers.js';

const scratch = scratchDir('skiff-arch-check-cli-');
after(scratch.cleanup);
let serial = 0;

function setUp(fixture: string, passphrase = '') {
  const n = ++serial;
  const root = copyArchive(fixture, join(scratch.dir, `a${n}`));
  const meta = `--meta-dir=${join(scratch.dir, `m${n}`)}`;
  // In this process, so the passphrase comes from --passcmd (stdin is the process's own fd 0).
  const given = passphrase ? [`--passcmd=echo ${passphrase}`] : [];
  const skiff = (...args: string[]) => runSkiffInProcess([`--dest=file:${root}`, meta, ...args, ...given]);
  return { root, skiff };
}

/** Restores every session of `volume` and compares it with its image. */
async function assertRestores(
  skiff: (...args: string[]) => Promise<{ code: number; stderr: string }>,
  fixture: string,
  volume: string,
  sessions: readonly (readonly [string, string])[],
) {
  for (const [session, image] of sessions) {
    const target = join(scratch.dir, `r${++serial}.img`);
    const r = await skiff('receive', volume, `--session=${session.slice(2)}`, `--save-to=${target}`);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(readFileSync(target).equals(fixtureImage(fixture, image)), `${session} differs from ${image}`);
  }
}

/** The [var] uuid of an unencrypted archive.ini, read straight from the file. */
function plainUuid(root: string): string {
  const text = gunzipSync(readFileSync(join(root, 'archive.ini')).subarray(17)).toString();
  return /^uuid = (.*)$/m.exec(text)?.[1] ?? '';
}

describe('arch-check --clean', () => {
  it('removes exactly the stray directories and leftovers, and the archive stays valid', async () => {
    const { root, skiff } = setUp(PLAIN.dir);
    const original = treeOf(root);
    const vol = join(root, PLAIN.vid);
    const leftovers = [
      'Vol_abcdef/',
      'Vol_abcdef/S_20261128-153734/',
      'Vol_abcdef/S_20261128-153734/info',
      '.skiff-put-0123456789ab',
      `${PLAIN.vid}/S-tmp/`,
      `${PLAIN.vid}/S-tmp/info`,
      `${PLAIN.vid}/S_20261128-153740-tmp/`,
      `${PLAIN.vid}/S_20990101-000000/`,
      `${PLAIN.vid}/S_20990101-000000/info`,
      `${PLAIN.vid}/volinfo.tmp`,
      `${PLAIN.vid}/merge.lst.gz`,
      `${PLAIN.vid}/${PLAIN_SESSIONS[1][0]}/info.tmp`,
    ];
    for (const path of leftovers) {
      if (path.endsWith('/')) mkdirSync(join(root, path), { recursive: true });
      else writeFileSync(join(root, path), 'leftover');
    }
    // Not Skiff's or Wyng's: left alone.
    mkdirSync(join(root, 'notes'));
    writeFileSync(join(root, 'notes', 'readme.txt'), 'mine');
    writeFileSync(join(vol, 'user-file'), 'mine');

    const r = await skiff('arch-check', '--clean', '--verbose');
    assert.equal(r.code, 0, r.stderr);
    const removed = [...r.stdout.matchAll(/^Removed (.*)$/gm)].map((m) => m[1]).sort();
    const expected = [
      '.skiff-put-0123456789ab',
      'Vol_abcdef',
      `${PLAIN.vid}/S-tmp`,
      `${PLAIN.vid}/S_20261128-153740-tmp`,
      `${PLAIN.vid}/S_20990101-000000`,
      `${PLAIN.vid}/volinfo.tmp`,
      `${PLAIN.vid}/merge.lst.gz`,
      `${PLAIN.vid}/${PLAIN_SESSIONS[1][0]}/info.tmp`,
    ];
    assert.deepEqual(removed, expected.sort());
    assert.deepEqual(treeOf(root), [...original, 'notes/', 'notes/readme.txt', `${PLAIN.vid}/user-file`].sort());

    const check = await skiff('arch-check');
    assert.equal(check.code, 0, check.stderr);
    assert.equal([...check.stdout.matchAll(/ :: OK/g)].length, 5);
    await assertRestores(skiff, PLAIN.dir, PLAIN.volume, PLAIN_SESSIONS);
  });

  it('on a clean archive removes nothing', async () => {
    const { root, skiff } = setUp(PLAIN.dir);
    const before = treeOf(root);
    const r = await skiff('arch-check', '--clean', '--verbose');
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /^Removed/m);
    assert.deepEqual(treeOf(root), before);
  });
});

describe('arch-check rewind', () => {
  it('unattended without --force: the volume fails and nothing changes; with --force it is rewound', async () => {
    const { root, skiff } = setUp(PLAIN.dir);
    unlinkSync(join(root, PLAIN.vid, PLAIN_SESSIONS[2][0], 'info'));
    const before = treeOf(root);
    const ini = readFileSync(join(root, 'archive.ini'));

    const refused = await skiff('arch-check');
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stdout, /\nVolume 'vol2\.img' error in session: 20261128-153740\nLast good session: 20261128-153738\n/);
    assert.match(refused.stderr, /Not rewinding/);
    assert.match(refused.stderr, /Error on volumes: vol2\.img$/m);
    assert.deepEqual(treeOf(root), before);
    assert.ok(readFileSync(join(root, 'archive.ini')).equals(ini));

    const r = await skiff('arch-check', '--force');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\nRewinding volume to 20261128-153738\nDone\.\n/);
    assert.match(r.stdout, /Volume 'vol2\.img'\n {2}Checking indexes, data:\n {2}20261128-153738 :: OK \n {2}20261128-153734 :: OK /);
    assert.ok(!existsSync(join(root, PLAIN.vid, PLAIN_SESSIONS[2][0])));

    const again = await skiff('arch-check');
    assert.equal(again.code, 0, again.stderr);
    const list = await skiff('list', PLAIN.volume);
    assert.equal(list.code, 0, list.stderr);
    assert.doesNotMatch(list.stdout, /20261128-153740/);
    await assertRestores(skiff, PLAIN.dir, PLAIN.volume, PLAIN_SESSIONS.slice(0, 2));
  });

  it('a volume whose first session is damaged cannot be recovered (exit 2, unchanged)', async () => {
    const { root, skiff } = setUp(PLAIN.dir);
    unlinkSync(join(root, PLAIN.vid, PLAIN_SESSIONS[0][0], 'info'));
    const before = treeOf(root);
    const r = await skiff('arch-check', '--force');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^Volume 'vol2\\.img' \\(${PLAIN.vid}\\) cannot be recovered\\.$`, 'm'));
    assert.deepEqual(treeOf(root), before);
  });
});

describe('arch-check --change-uuid', () => {
  it('unattended without --force changes nothing (exit 0)', async () => {
    const { root, skiff } = setUp(PLAIN.dir);
    const ini = readFileSync(join(root, 'archive.ini'));
    const r = await skiff('arch-check', '--change-uuid');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /UUID not changed/);
    assert.ok(readFileSync(join(root, 'archive.ini')).equals(ini));
  });

  it('stores the new uuid; the archive still opens, lists, verifies and checks', async () => {
    const { root, skiff } = setUp(PLAIN.dir);
    const old = plainUuid(root);
    const r = await skiff('arch-check', '--change-uuid', '--force');
    assert.equal(r.code, 0, r.stderr);
    const printed = /\nOld UUID: (.*)\nNew UUID: (.*)\nUUID updated\.\n$/.exec(r.stdout);
    assert.ok(printed, r.stdout);
    assert.equal(printed[1], old);
    assert.equal(plainUuid(root), printed[2]);
    assert.notEqual(printed[2], old);
    for (const args of [['list', '--verbose'], ['verify', '--all'], ['arch-check']]) {
      const next = await skiff(...args);
      assert.equal(next.code, 0, `${args.join(' ')}: ${next.stderr}`);
    }
    await assertRestores(skiff, PLAIN.dir, PLAIN.volume, PLAIN_SESSIONS);
  });

  it('encrypted: the new uuid persists, and a replayed old archive.ini is refused (another uuid; a rollback)', async () => {
    const { root, skiff } = setUp(ENCRYPTED.dir, ENCRYPTED.passphrase);
    const oldIni = readFileSync(join(root, 'archive.ini'));
    const r = await skiff('arch-check', '--change-uuid', '--force');
    assert.equal(r.code, 0, r.stderr);
    const fresh = /New UUID: (.*)\n/.exec(r.stdout)?.[1] ?? '';
    const list = await skiff('list', '--verbose');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^ uuid += ${fresh}$`, 'm'));
    await assertRestores(
      skiff,
      ENCRYPTED.dir,
      ENCRYPTED.volume,
      ['S_20261128-153704', 'S_20261128-153711'].map((s, i) => [s, ENCRYPTED_IMAGES[i] as string] as const),
    );
    writeFileSync(join(root, 'archive.ini'), oldIni);
    // The destination's anchor names the new uuid: the old archive.ini is another archive now.
    const replay = await skiff('list');
    assert.equal(replay.code, 1, replay.stderr);
    assert.match(replay.stderr, new RegExp(`has another uuid \\(${fresh} → [0-9a-f-]+\\)`));
    // Even accepted as a replacement, the old uuid's state holds the new root: a rollback.
    const accepted = await skiff('list', '--accept-new-archive');
    assert.equal(accepted.code, 1, accepted.stderr);
    assert.match(accepted.stderr, /archive\.ini: is older/);
  });

  it('on an archive that does not exist: exit 6, and no directory is made', async () => {
    const missing = join(scratch.dir, 'missing');
    for (const option of ['--change-uuid', '--clean']) {
      const r = await runSkiffInProcess([`--dest=file:${missing}`, 'arch-check', option, '--force']);
      assert.equal(r.code, 6, r.stderr);
      assert.match(r.stderr, /not found/);
      assert.ok(!existsSync(missing));
    }
    // An existing directory without an archive.
    mkdirSync(missing);
    const r = await runSkiffInProcess([`--dest=file:${missing}`, 'arch-check', '--change-uuid', '--force']);
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /^Archive not found/m);
    assert.deepEqual(treeOf(missing), []);
  });
});
