// Fault injection for add, rename and delete: the operation runs on a store that fails its k-th
// changing operation (and everything after, as if the process died there), for every k; then
// recovery runs on a fresh store, as the next write command would. The archive must open, pass
// the arch-check loads, show the operation either fully done or not at all (a delete: done
// once its journal was written), and every other volume must restore byte-identically.

import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Archive } from '../../source-agent/archive/archive.js';
import { CIPHER_MODES } from '../../source-agent/archive/crypto/cipher-modes.js';
import { parseJournal } from '../../source-agent/archive/journal.js';
import type { RootKeys } from '../../source-agent/archive/keys.js';
import { archCheck } from '../../source-agent/engine/maintain/arch-check.js';
import { createArchive } from '../../source-agent/engine/maintain/arch-init.js';
import { recoverInterruptedWrites } from '../../source-agent/engine/maintain/recover.js';
import { type SendEvents, send } from '../../source-agent/engine/send/send.js';
import { addVolumes } from '../../source-agent/engine/volumes/add.js';
import { deleteVolume } from '../../source-agent/engine/volumes/delete.js';
import { renameVolume } from '../../source-agent/engine/volumes/rename.js';
import type { WriteContext } from '../../source-agent/engine/write-context.js';
import { prepareImport } from '../../source-agent/source/import-source.js';
import { LocalStore } from '../../source-agent/store/local-store.js';
import { useKdfMemoHere } from '../helpers/cli.js';
import { FailingStore, InjectedFault } from '../helpers/failing-store.js';
import { silentOutput, writeContextFor, writerFor } from '../helpers/write-context.js';
import { openArchive, restoreAll, volumeNames, writeSources } from './archive-fixture.js';

// Not about the key derivation: the archive's scrypt comes from the test memo (helpers/cli.ts).
useKdfMemoHere();

const work = mkdtempSync(join(tmpdir(), 'skiff-volume-faults-'));
after(() => rmSync(work, { recursive: true, force: true }));

const quiet: SendEvents = { note() {}, warn() {}, sending() {}, volumeStart: () => ({ update() {} }), volumeEnd() {} };
const now = () => Date.now() / 1000;

interface Base {
  dir: string;
  rootKeys: RootKeys | null;
  images: Map<string, Buffer[]>;
}

async function sendImports(archive: Archive, volumes: [string, string][], at: Date): Promise<void> {
  const writer = writerFor(archive);
  await send(
    {
      writer,
      volumes: volumes.map(([name, path]) => ({ name, prepare: () => prepareImport(path) })),
      tags: new Map(),
      sendUnchanged: false,
      dryRun: false,
      startedAt: at,
    },
    quiet,
  );
}

/** An archive with a.img (2 sessions), b.img (1) and sub/c.img (1), and an empty volume. */
async function makeBase(name: string, code: '00' | '35'): Promise<Base> {
  const dir = join(work, name);
  const sources = writeSources(join(work), 65536);
  const store = new LocalStore(dir);
  const created = await createArchive(store, {
    mode: CIPHER_MODES[code],
    compression: 'zstd',
    level: 3,
    chunkSize: 65536,
    passphrase: async () => Buffer.from('volume-fault-passphrase'),
    now,
  });
  const rootKeys = created.rootKeys;
  let archive = await openArchive(new LocalStore(dir), rootKeys);
  await sendImports(
    archive,
    [
      ['a.img', sources.a1],
      ['b.img', sources.b],
      ['sub/c.img', sources.c],
    ],
    new Date(Date.UTC(2026, 10, 28, 10, 0, 0)),
  );
  archive = await openArchive(new LocalStore(dir), rootKeys);
  await sendImports(archive, [['a.img', sources.a2]], new Date(Date.UTC(2026, 10, 28, 11, 0, 0)));
  archive = await openArchive(new LocalStore(dir), rootKeys);
  await addVolumes(await writeContextFor(archive, join(work, `${name}-state`)), ['empty.img'], '', silentOutput);
  archive = await openArchive(new LocalStore(dir), rootKeys);
  return { dir, rootKeys, images: await restoreAll(archive) };
}

type Operation = (ctx: WriteContext) => Promise<unknown>;

/** Runs `operation` on a copy of the base archive whose store fails at `failAt`. */
async function runFaulty(base: Base, copy: string, failAt: number, operation: Operation): Promise<FailingStore> {
  rmSync(copy, { recursive: true, force: true });
  cpSync(base.dir, copy, { recursive: true });
  const store = new FailingStore(new LocalStore(copy), Number.POSITIVE_INFINITY);
  const archive = await openArchive(store, base.rootKeys);
  const ctx = await writeContextFor(archive, `${copy}-state`);
  store.failAt = failAt;
  if (Number.isFinite(failAt)) await assert.rejects(operation(ctx), InjectedFault);
  else await operation(ctx);
  return store;
}

/** Recovery as the next write command runs it, then the checks every outcome must pass. */
async function recoverAndCheck(base: Base, copy: string): Promise<{ archive: Archive; names: Map<string, string> }> {
  const reopened = await openArchive(new LocalStore(copy), base.rootKeys);
  await recoverInterruptedWrites(await writeContextFor(reopened, `${copy}-state`), silentOutput);
  const archive = await openArchive(new LocalStore(copy), base.rootKeys);
  assert.equal(parseJournal(archive.ini), null, 'no journal left');
  assert.ok(!existsSync(join(copy, 'archive.ini.tmp')), 'no archive.ini.tmp left');
  assert.deepEqual(await archCheck(archive, { names: null, session: null }, silentOutput), [], 'arch-check loads and data pass');
  return { archive, names: await volumeNames(archive) };
}

/** Every volume present with an expected image restores byte-identically. */
async function assertRestores(archive: Archive, expected: Map<string, Buffer[]>, renamed: Map<string, string> = new Map()): Promise<void> {
  const restored = await restoreAll(archive);
  for (const [name, images] of restored) {
    const want = expected.get(renamed.get(name) ?? name) ?? (images.length === 0 && name.includes('new') ? [] : undefined);
    assert.ok(want, `unexpected volume ${name}`);
    assert.equal(images.length, want.length, `${name}: session count`);
    for (const [i, image] of images.entries()) assert.ok(image.equals(want[i] as Buffer), `${name} session ${i} restores byte-identically`);
  }
}

/** Counts the operation's store operations, then fails it at every one of them. */
async function faultPoints(base: Base, label: string, operation: Operation): Promise<{ count: number; log: string[] }> {
  const counting = await runFaulty(base, join(work, `${label}-count`), Number.POSITIVE_INFINITY, operation);
  return { count: counting.count, log: [...counting.log] };
}

for (const [mode, code] of [
  ['unencrypted', '00'],
  ['xchacha20-dgr', '35'],
] as const) {
  describe(`volume commands interrupted at every store operation (${mode})`, () => {
    let base: Base;
    before(async () => {
      base = await makeBase(`base-${code}`, code);
    });

    it('add: all new volumes or none', async (t) => {
      const operation: Operation = (ctx) => addVolumes(ctx, ['new1.img', 'dir/new2.img'], 'added', silentOutput);
      const { count, log } = await faultPoints(base, `add-${code}`, operation);
      const iniRename = log.findIndex((l) => l.startsWith('rename archive.ini.tmp')) + 1;
      assert.ok(iniRename > 0);
      t.diagnostic(`add (${mode}): ${count} fault points`);
      for (let k = 1; k <= count + 1; k++) {
        const copy = join(work, `add-${code}-${k}`);
        await runFaulty(base, copy, k > count ? Number.POSITIVE_INFINITY : k, operation);
        const { archive, names } = await recoverAndCheck(base, copy);
        const done = names.has('new1.img');
        assert.equal(names.has('dir/new2.img'), done, `k=${k}: both or neither`);
        assert.equal(done, k >= iniRename, `k=${k} (${log[k - 1] ?? 'no fault'}): done exactly once every volinfo is renamed`);
        assert.equal(names.size, base.images.size + (done ? 2 : 0));
        if (done) {
          const vid = names.get('new1.img') as never;
          const volinfo = await archive.readVolInfo(vid);
          assert.equal(volinfo.desc, 'added');
          assert.equal(volinfo.sessions.size, 0);
          assert.ok(!existsSync(join(copy, vid, 'sessions')), 'add writes no sessions file (as Wyng)');
        }
        await assertRestores(archive, base.images);
        rmSync(copy, { recursive: true, force: true });
      }
    });

    it('rename: old name or new name, same vid and sessions', async (t) => {
      const operation: Operation = (ctx) => renameVolume(ctx, { from: 'b.img', to: 'renamed/b.img', desc: 'moved' });
      const { count, log } = await faultPoints(base, `rename-${code}`, operation);
      const iniRename = log.findIndex((l) => l.startsWith('rename archive.ini.tmp')) + 1;
      t.diagnostic(`rename (${mode}): ${count} fault points`);
      const before = await volumeNames(await openArchive(new LocalStore(base.dir), base.rootKeys));
      for (let k = 1; k <= count + 1; k++) {
        const copy = join(work, `rename-${code}-${k}`);
        await runFaulty(base, copy, k > count ? Number.POSITIVE_INFINITY : k, operation);
        const { archive, names } = await recoverAndCheck(base, copy);
        const done = names.has('renamed/b.img');
        assert.equal(names.has('b.img'), !done, `k=${k}: exactly one of the names`);
        assert.equal(done, k >= iniRename, `k=${k} (${log[k - 1] ?? 'no fault'})`);
        assert.equal(names.get(done ? 'renamed/b.img' : 'b.img'), before.get('b.img'), 'the vid stays');
        assert.equal((await archive.readVolInfo(before.get('b.img') as never)).desc, done ? 'moved' : '');
        await assertRestores(archive, base.images, new Map([['renamed/b.img', 'b.img']]));
        rmSync(copy, { recursive: true, force: true });
      }
    });

    it('delete: not at all before the journal is written, fully after', async (t) => {
      const vid = (await volumeNames(await openArchive(new LocalStore(base.dir), base.rootKeys))).get('a.img') as never;
      const operation: Operation = (ctx) => deleteVolume(ctx, vid);
      const { count, log } = await faultPoints(base, `delete-${code}`, operation);
      assert.equal(log[0], 'put archive.ini', 'the journal is the first write');
      t.diagnostic(`delete (${mode}): ${count} fault points`);
      for (let k = 1; k <= count + 1; k++) {
        const copy = join(work, `delete-${code}-${k}`);
        await runFaulty(base, copy, k > count ? Number.POSITIVE_INFINITY : k, operation);
        const { archive, names } = await recoverAndCheck(base, copy);
        const done = k > 1;
        assert.equal(names.has('a.img'), !done, `k=${k} (${log[k - 1] ?? 'no fault'})`);
        assert.equal(archive.ini.volumes.has(vid), !done);
        assert.equal(existsSync(join(copy, vid)), !done, 'the volume directory goes with it');
        assert.equal(names.size, base.images.size - (done ? 1 : 0));
        await assertRestores(archive, base.images);
        // The next write works on the recovered archive.
        await addVolumes(await writeContextFor(archive, `${copy}-state2`), ['after.img'], '', silentOutput);
        assert.ok((await volumeNames(await openArchive(new LocalStore(copy), base.rootKeys))).has('after.img'));
        rmSync(copy, { recursive: true, force: true });
      }
    });
  });
}
