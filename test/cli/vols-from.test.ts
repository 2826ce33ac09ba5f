// send and receive --vols-from / --local-from (behavior spec §9.6): one session over volumes of
// two local pools, an alias (send: the archive volume renamed to its local name first; receive:
// the local name written), and the `.error` file Wyng writes beside the JSON file when volumes
// failed. The file format checks need no root; send and receive run on two Btrfs subvolumes of a
// loop file system.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, renameSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { VolumeId } from '../../source-agent/archive/names.js';
import { errorFileText, loadVolsFrom, readVolsFrom } from '../../source-agent/cli/vols-from.js';
import { LocalStore } from '../../source-agent/store/local-store.js';
import { runSkiff, scratchDir } from '../helpers/cli.js';
import { FS_TOOLS, withLoopFs } from '../helpers/loop-fs.js';
import { requireSystem } from '../helpers/system.js';
import { openArchive, volumeNames } from '../volumes/archive-fixture.js';

const { dir, cleanup } = scratchDir('skiff-vols-from-');
after(cleanup);

function jsonFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('--vols-from file', () => {
  it("reads sets, aliases and null locals; refuses bad files with Wyng's messages", () => {
    const path = jsonFile('sets.json', '{"/a": [["x.img", null], ["y.img", "z.img"]], "null": [["w.img", "w.img"]], "/b": []}');
    assert.deepEqual(readVolsFrom(path, '/'), {
      path,
      sets: [
        {
          local: '/a',
          volumes: [
            { name: 'x.img', alias: null },
            { name: 'y.img', alias: 'z.img' },
          ],
        },
        { local: null, volumes: [{ name: 'w.img', alias: null }] },
        { local: '/b', volumes: [] },
      ],
      notes: ['Empty vol list for /b'],
    });
    assert.equal(readVolsFrom(join(dir, 'absent.json'), '/'), null);
    for (const bad of ['', '{', '[]', '{}', '{"/a": "x"}', '{"/a": [[1, null]]}', '{"/a": [["x", 2]]}', '{"/a": [["x", null, 3]]}']) {
      assert.throws(() => readVolsFrom(jsonFile('bad.json', bad), '/'), /^Error: Empty\/malformed json file$/, bad);
    }
    assert.throws(
      () => readVolsFrom(jsonFile('dup.json', '{"/a": [["x", null]], "/b": [["x", null]]}'), '/'),
      /^Error: Duplicate volume name: x$/,
    );
  });

  it('says which volume names on the command line it ignores: only those the file does not list (wyng-util-qubes verify names its set again)', () => {
    const path = jsonFile('named.json', '{"null": [["vm-work-private", ""], ["vm-personal-private", ""]]}');
    const said: string[] = [];
    const stderr = { write: (text: string) => said.push(text) };
    assert.ok(loadVolsFrom(path, '/', ['vm-personal-private', 'vm-work-private'], stderr));
    assert.deepEqual(said, []);
    assert.ok(loadVolsFrom(path, '/', ['vm-work-private', 'other.img'], stderr));
    assert.deepEqual(said, ['Volume names on the command line are ignored with --vols-from (as in Wyng): other.img\n']);
  });

  it('.error is Python json.dump of rc 2 and the sorted failed names', () => {
    assert.equal(errorFileText(['b.img', 'a.img', 'b.img', 'é.img']), '{"rc": 2, "volumes": ["a.img", "b.img", "\\u00e9.img"]}');
  });
});

describe('send --vols-from (Btrfs, root)', () => {
  it('sends volumes of two pools in one session, renames an aliased volume first, and writes .error for a missing one', async (t) => {
    if (!requireSystem(t, FS_TOOLS.btrfs)) return;
    await withLoopFs('btrfs', dir, 200, async ({ root, local }) => {
      const pool2 = join(root, 'pool2');
      execFileSync('btrfs', ['subvolume', 'create', pool2], { stdio: 'ignore' });
      const a = randomBytes(3 << 20);
      const old = randomBytes(2 << 20);
      writeFileSync(join(local, 'a.img'), a);
      writeFileSync(join(pool2, 'old.img'), old);
      const archive = join(dir, 'archive');
      const common = [`--dest=file:${archive}`, `--meta-dir=${join(dir, 'meta')}`];
      const init = await runSkiff(['arch-init', '--encrypt=off', ...common]);
      assert.equal(init.code, 0, init.stderr);
      const first = await runSkiff(['send', 'old.img', `--local=${pool2}`, ...common]);
      assert.equal(first.code, 0, first.stderr);
      const oldVid = (await volumeNames(await openArchive(new LocalStore(archive), null))).get('old.img');
      // The VM was renamed: its volume is now new.img locally, and has changed since.
      renameSync(join(pool2, 'old.img'), join(pool2, 'new.img'));
      const renamed = Buffer.from(old);
      randomBytes(70000).copy(renamed, 1 << 20);
      const handle = openSync(join(pool2, 'new.img'), 'r+');
      writeSync(handle, renamed.subarray(1 << 20, (1 << 20) + 70000), 0, 70000, 1 << 20);
      closeSync(handle);
      utimesSync(join(pool2, 'new.img'), new Date(), new Date(Date.now() + 5000));

      const sets = jsonFile(
        'send.json',
        JSON.stringify({
          [local]: [['a.img', null]],
          [pool2]: [
            ['old.img', 'new.img'],
            ['missing.img', null],
          ],
        }),
      );
      const sent = await runSkiff(['send', `--local-from=${sets}`, ...common]);
      assert.equal(sent.code, 2, sent.stderr);
      assert.match(sent.stdout, /Renamed 'old\.img' to 'new\.img'/);
      assert.equal(readFileSync(`${sets}.error`, 'utf8'), '{"rc": 2, "volumes": ["missing.img"]}');

      const opened = await openArchive(new LocalStore(archive), null);
      const names = await volumeNames(opened);
      assert.deepEqual([...names.keys()].sort(), ['a.img', 'new.img']);
      assert.equal(names.get('new.img'), oldVid, 'the aliased volume kept its id');
      const sessionsOf = async (name: string) => [...(await opened.readVolInfo(names.get(name) as VolumeId)).sessions.keys()];
      const [aSessions, newSessions] = [await sessionsOf('a.img'), await sessionsOf('new.img')];
      assert.equal(aSessions.length, 1);
      assert.equal(newSessions.length, 2);
      assert.equal(newSessions.at(-1), aSessions[0], 'both pools went into one session');
      for (const [name, bytes] of [
        ['a.img', a],
        ['new.img', renamed],
      ] as const) {
        const target = join(dir, `restored-${name}`);
        const got = await runSkiff(['receive', name, `--save-to=${target}`, ...common]);
        assert.equal(got.code, 0, got.stderr);
        assert.ok(readFileSync(target).equals(bytes), `${name} restores byte-identically`);
      }
      assert.ok(!existsSync(join(dir, 'send.json.error.error')));

      // monitor takes the same sets: both pools, the alias as the local name.
      const monitorSets = jsonFile('monitor.json', JSON.stringify({ [local]: [['a.img', null]], [pool2]: [['new.img', null]] }));
      const monitored = await runSkiff(['monitor', `--vols-from=${monitorSets}`, ...common]);
      assert.equal(monitored.code, 0, monitored.stderr);
      assert.match(monitored.stdout, /Volume 'a\.img'\n {2}no change\nVolume 'new\.img'\n {2}no change\n/);
      assert.equal(existsSync(`${monitorSets}.error`), false);
    });
  });
});

describe('receive --local-from (Btrfs, root)', () => {
  it('receives volumes into the local storage of their sets, an alias as the local name, and writes .error for a failing one', async (t) => {
    if (!requireSystem(t, FS_TOOLS.btrfs)) return;
    await withLoopFs('btrfs', dir, 200, async ({ root, local }) => {
      const pool2 = join(root, 'pool2');
      execFileSync('btrfs', ['subvolume', 'create', pool2], { stdio: 'ignore' });
      const a = randomBytes(3 << 20);
      const b = randomBytes(2 << 20);
      writeFileSync(join(local, 'a.img'), a);
      writeFileSync(join(local, 'b.img'), b);
      writeFileSync(join(local, 'c.img'), randomBytes(1 << 20));
      const archive = join(dir, 'archive-receive');
      const common = [`--dest=file:${archive}`, `--meta-dir=${join(dir, 'meta-receive')}`];
      const init = await runSkiff(['arch-init', '--encrypt=off', ...common]);
      assert.equal(init.code, 0, init.stderr);
      const first = await runSkiff(['send', 'a.img', 'b.img', `--local=${local}`, ...common]);
      assert.equal(first.code, 0, first.stderr);
      // c.img only exists in a later session: receiving the first session fails it alone. Session
      // names have whole seconds, and a send in the same second would give c.img the same name.
      const sentAt = Math.floor(Date.now() / 1000);
      while (Math.floor(Date.now() / 1000) === sentAt) await new Promise((done) => setTimeout(done, 50));
      const second = await runSkiff(['send', 'c.img', `--local=${local}`, ...common]);
      assert.equal(second.code, 0, second.stderr);
      const opened = await openArchive(new LocalStore(archive), null);
      const names = await volumeNames(opened);
      const [session] = [...(await opened.readVolInfo(names.get('a.img') as VolumeId)).sessions.keys()];
      assert.ok(session);

      // What wyng-util-qubes runs: a.img into the second pool, b.img into the first under its
      // alias (over an older copy, --sparse-write), c.img failing.
      writeFileSync(join(local, 'b-copy.img'), randomBytes(2 << 20));
      const sets = jsonFile(
        'receive.json',
        JSON.stringify({
          [pool2]: [['a.img', null]],
          [local]: [
            ['b.img', 'b-copy.img'],
            ['c.img', null],
          ],
        }),
      );
      const got = await runSkiff(['receive', '--force', '--sparse-write', `--local-from=${sets}`, `--session=${session}`, ...common]);
      assert.equal(got.code, 2, got.stderr);
      assert.equal(readFileSync(`${sets}.error`, 'utf8'), '{"rc": 2, "volumes": ["c.img"]}');
      assert.ok(readFileSync(join(pool2, 'a.img')).equals(a), 'a.img restored byte-identically into its set');
      assert.ok(readFileSync(join(local, 'b-copy.img')).equals(b), 'b.img restored byte-identically under its alias');
      assert.ok(readFileSync(join(local, 'b.img')).equals(b), 'the archive name in the local storage is left alone');
      assert.equal(existsSync(join(local, 'a.img.tmp')), false);

      // All of them well: no .error is left behind by a run that wrote none.
      const good = jsonFile('receive-good.json', JSON.stringify({ [pool2]: [['c.img', 'c2.img']] }));
      const fine = await runSkiff(['receive', '--force', `--vols-from=${good}`, ...common]);
      assert.equal(fine.code, 0, fine.stderr);
      assert.ok(readFileSync(join(pool2, 'c2.img')).equals(readFileSync(join(local, 'c.img'))));
      assert.equal(existsSync(`${good}.error`), false);
    });
  });
});
