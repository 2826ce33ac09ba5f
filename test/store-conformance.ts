// The Store contract (source-agent/store/store.ts) as one suite that every implementation runs,
// after restic's backend test suite and kopia's VerifyStorage. It includes the way a real send
// writes chunk files (test/helpers/send-chunks.ts: on `file:` the send workers write them
// themselves). Stores kept in a local directory (LocalStore and the destination helper, which
// share confined-fs/archive-directory.ts) also run runFileSystemStoreSuite: what the directory
// holds afterwards, and what a hostile destination's planted links lead to.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type Store, StoreError, type StoreErrorCode } from '../source-agent/store/store.js';
import { SEND_CHUNK_BYTES, SESSION_DIR, sendChunks, sentChunkPath, testVolume, unpackChunk } from './helpers/send-chunks.js';

async function rejectsWith(promise: Promise<unknown>, code: StoreErrorCode): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof StoreError && error.code === code);
}

export function runStoreSuite(name: string, openStore: () => Promise<Store>): void {
  describe(`Store conformance: ${name}`, () => {
    const opened: Store[] = [];
    const makeStore = async () => {
      const store = await openStore();
      opened.push(store);
      return store;
    };
    after(async () => {
      await Promise.all(opened.map((store) => store.close()));
    });

    it('put then read, stat and list; put replaces', async () => {
      const store = await makeStore();
      await store.put('Vol_1/S_20260101-000000/000000000/x0000000000000000', Buffer.from('chunk'));
      assert.deepEqual(await store.read('Vol_1/S_20260101-000000/000000000/x0000000000000000', 100), Buffer.from('chunk'));
      assert.deepEqual(await store.stat('Vol_1/S_20260101-000000/000000000/x0000000000000000'), { kind: 'file', size: 5, links: 1 });
      assert.equal((await store.stat('Vol_1'))?.kind, 'directory');
      assert.equal(await store.stat('Vol_2'), null);
      assert.equal(await store.stat('Vol_2/S_1/info'), null);
      await store.remove('Vol_2/S_1/info');
      await store.removeTree('Vol_2/S_1');
      await store.put('Vol_1/volinfo', Buffer.from('v1'));
      await store.put('Vol_1/volinfo', Buffer.from('version 2'));
      assert.deepEqual(await store.read('Vol_1/volinfo', 100), Buffer.from('version 2'));
      assert.deepEqual(await store.list('Vol_1'), ['S_20260101-000000', 'volinfo']);
      assert.ok((await store.list('.')).includes('Vol_1'));
    });

    it('puts and reads files larger than one protocol frame, and empty files', async () => {
      const store = await makeStore();
      const big = Buffer.alloc(5 * 1024 * 1024 + 17);
      for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 0xff;
      await store.put('Vol_1/S_1/manifest.z', big);
      assert.ok((await store.read('Vol_1/S_1/manifest.z', big.length)).equals(big));
      await store.writeNew('Vol_1/S_1/big', big);
      assert.ok((await store.read('Vol_1/S_1/big', big.length + 1)).equals(big));
      await store.put('empty', Buffer.alloc(0));
      assert.equal((await store.read('empty', 10)).length, 0);
    });

    it('reads into a caller buffer and enforces the size bound', async () => {
      const store = await makeStore();
      await store.put('f', Buffer.alloc(1000, 7));
      const buffer = Buffer.alloc(1000);
      assert.equal(await store.readInto('f', buffer), 1000);
      assert.equal(buffer[999], 7);
      await rejectsWith(store.readInto('f', Buffer.alloc(999)), 'TOO_LARGE');
      await rejectsWith(store.read('f', 999), 'TOO_LARGE');
      await rejectsWith(store.read('missing', 10), 'ENOENT');
      await rejectsWith(store.list('missing'), 'ENOENT');
    });

    it('refuses unclean paths before touching storage', async () => {
      const store = await makeStore();
      for (const path of ['', '/abs', '../up', 'a/../b', 'a//b', 'a/./b', 'a/', 'nul\0byte']) {
        await rejectsWith(store.put(path, Buffer.from('x')), 'EINVAL');
        await rejectsWith(store.read(path, 10), 'EINVAL');
      }
    });

    it('renames in order and moves directories (the zipper commit)', async () => {
      const store = await makeStore();
      await store.put('Vol_1/S-tmp/info.tmp', Buffer.from('info'));
      await store.put('Vol_1/volinfo.tmp', Buffer.from('volinfo'));
      await store.put('archive.ini.tmp', Buffer.from('ini'));
      await store.renameBatch([
        ['Vol_1/S-tmp/info.tmp', 'Vol_1/S-tmp/info'],
        ['Vol_1/S-tmp', 'Vol_1/S_20260101-000000'],
        ['Vol_1/volinfo.tmp', 'Vol_1/volinfo'],
        ['archive.ini.tmp', 'archive.ini'],
      ]);
      assert.deepEqual(await store.read('Vol_1/S_20260101-000000/info', 10), Buffer.from('info'));
      assert.deepEqual(await store.list('Vol_1'), ['S_20260101-000000', 'volinfo']);
      assert.equal(await store.stat('archive.ini.tmp'), null);
    });

    it('stops a rename batch at the first failure, keeping the earlier renames', async () => {
      const store = await makeStore();
      await store.put('a.tmp', Buffer.from('a'));
      await rejectsWith(
        store.renameBatch([
          ['a.tmp', 'a'],
          ['missing.tmp', 'missing'],
        ]),
        'ENOENT',
      );
      assert.deepEqual(await store.read('a', 10), Buffer.from('a'));
    });

    it('hard-links files and counts the links', async () => {
      const store = await makeStore();
      await store.put('Vol_1/S_1/000000000/x0000000000000000', Buffer.from('same'));
      await store.link('Vol_1/S_1/000000000/x0000000000000000', 'Vol_2/S_1/000000000/x0000000000000000');
      assert.equal((await store.stat('Vol_2/S_1/000000000/x0000000000000000'))?.links, 2);
      assert.deepEqual(await store.read('Vol_2/S_1/000000000/x0000000000000000', 10), Buffer.from('same'));
      await rejectsWith(store.link('Vol_1/S_1/000000000/x0000000000000000', 'Vol_2/S_1/000000000/x0000000000000000'), 'EEXIST');
    });

    it('removes files and trees, and is idempotent', async () => {
      const store = await makeStore();
      await store.put('Vol_1/S_1/000000000/x0000000000000000', Buffer.from('x'));
      await store.put('Vol_1/volinfo', Buffer.from('v'));
      await store.remove('Vol_1/volinfo');
      await store.remove('Vol_1/volinfo');
      assert.equal(await store.stat('Vol_1/volinfo'), null);
      await store.removeTree('Vol_1');
      await store.removeTree('Vol_1');
      assert.equal(await store.stat('Vol_1'), null);
    });

    it('reports free space and holds an exclusive lock', async () => {
      const store = await makeStore();
      assert.ok((await store.freeSpace()) > 0);
      const lock = await store.lock();
      await rejectsWith(store.lock(), 'EBUSY');
      await lock.release();
      await (await store.lock()).release();
    });

    it('writeNew creates parents, refuses to replace, and fsyncDir needs a directory', async () => {
      const store = await makeStore();
      await store.writeNew('Vol_1/S-tmp/000000000/x0000000000000000', Buffer.from('new'));
      assert.deepEqual(await store.read('Vol_1/S-tmp/000000000/x0000000000000000', 10), Buffer.from('new'));
      await rejectsWith(store.writeNew('Vol_1/S-tmp/000000000/x0000000000000000', Buffer.from('again')), 'EEXIST');
      await store.fsyncDir('Vol_1/S-tmp/000000000');
      await rejectsWith(store.fsyncDir('Vol_9'), 'ENOENT');
    });

    it('mkdir is recursive and idempotent', async () => {
      const store = await makeStore();
      await store.mkdir('Vol_1/S-tmp/000000000');
      await store.mkdir('Vol_1/S-tmp/000000000');
      assert.equal((await store.stat('Vol_1/S-tmp'))?.kind, 'directory');
    });

    it('stat of "." is the archive directory', async () => {
      const store = await makeStore();
      await store.put('archive.ini', Buffer.from('ini'));
      assert.equal((await store.stat('.'))?.kind, 'directory');
    });

    for (const dedup of [false, true]) {
      it(`a send${dedup ? ' --dedup' : ''} writes its chunk files whole into the session directory, published by one rename`, async () => {
        const store = await makeStore();
        const volume = testVolume(5, 2);
        const result = await sendChunks(store, volume, { dedup });
        assert.equal(result.storedChunks, 4);
        await store.flush();
        await store.renameBatch([[SESSION_DIR, 'Vol_1/S_20260101-000000']]);
        for (const index of [0, 1, 3, 4]) {
          const path = sentChunkPath(index).replace(SESSION_DIR, 'Vol_1/S_20260101-000000');
          const chunk = unpackChunk(await store.read(path, 2 * SEND_CHUNK_BYTES));
          assert.ok(chunk.equals(volume.subarray(index * SEND_CHUNK_BYTES, (index + 1) * SEND_CHUNK_BYTES)), path);
        }
        assert.equal(await store.stat(sentChunkPath(2).replace(SESSION_DIR, 'Vol_1/S_20260101-000000')), null);
        assert.deepEqual(await store.list('Vol_1/S_20260101-000000'), ['000000000']);
        assert.equal(await store.stat(SESSION_DIR), null);
      });
    }

    it('a send never replaces a chunk file that is already there', async () => {
      const store = await makeStore();
      await store.writeNew(sentChunkPath(1), Buffer.from('there before'));
      await assert.rejects(sendChunks(store, testVolume(3)), (error: unknown) => {
        assert.ok(error instanceof StoreError && error.code === 'EEXIST', String(error));
        // The archive path, not the name the confined walk used for it (/proc/self/fd/N/…).
        assert.ok(error.message.startsWith(`${sentChunkPath(1)}: `), error.message);
        assert.doesNotMatch(error.message, /\/proc\/self\/fd/);
        return true;
      });
      assert.deepEqual(await store.read(sentChunkPath(1), 100), Buffer.from('there before'));
    });
  });
}

/**
 * The suite for a store kept in a local directory: the Store rows, then rows that look at the
 * directory itself and plant what a hostile destination would. `openStore` opens the store on
 * an existing, empty directory.
 */
export function runFileSystemStoreSuite(name: string, openStore: (directory: string) => Promise<Store>): void {
  const base = mkdtempSync(join(tmpdir(), 'skiff-fs-store-'));
  let counter = 0;
  const newDirectory = () => {
    const directory = join(base, `store${counter++}`);
    mkdirSync(directory);
    return directory;
  };
  after(() => rmSync(base, { recursive: true, force: true }));

  runStoreSuite(name, () => openStore(newDirectory()));

  describe(`Store conformance, on a file system: ${name}`, () => {
    const opened: Store[] = [];
    /** A store, its directory, and a directory outside it that planted links point to. */
    const setup = async () => {
      const root = newDirectory();
      const outside = newDirectory();
      const store = await openStore(root);
      opened.push(store);
      return { store, root, outside };
    };
    after(async () => {
      await Promise.all(opened.map((store) => store.close()));
    });

    it('put leaves no temporary file behind', async () => {
      const { store, root } = await setup();
      await store.put('a/b', Buffer.from('x'));
      await store.put('a/b', Buffer.from('y'));
      assert.deepEqual(readdirSync(join(root, 'a')), ['b']);
      assert.equal(readFileSync(join(root, 'a', 'b'), 'utf8'), 'y');
    });

    it('takes over a lock left by a process that no longer runs, not one a running process holds', async () => {
      const { store, root } = await setup();
      writeFileSync(join(root, '.skiff-lock'), '999999999\n');
      const lock = await store.lock();
      assert.notEqual(readFileSync(join(root, '.skiff-lock'), 'utf8'), '999999999\n');
      await lock.release();
      assert.deepEqual(readdirSync(root), []);
      writeFileSync(join(root, '.skiff-lock'), `${process.pid}\n`);
      await assert.rejects(
        store.lock(),
        (error: unknown) => error instanceof StoreError && error.code === 'EBUSY' && error.message.includes(`process ${process.pid}`),
      );
      assert.equal(readFileSync(join(root, '.skiff-lock'), 'utf8'), `${process.pid}\n`);
    });

    const planted: Record<string, (root: string, outside: string) => void> = {
      'the session directory': (root, outside) => {
        mkdirSync(join(root, 'Vol_1'));
        symlinkSync(outside, join(root, SESSION_DIR));
      },
      'a chunk directory': (root, outside) => {
        mkdirSync(join(root, SESSION_DIR), { recursive: true });
        symlinkSync(outside, join(root, sentChunkPath(0).replace(/\/[^/]+$/, '')));
      },
    };
    for (const [where, plant] of Object.entries(planted)) {
      it(`a send does not follow ${where} swapped for a link out of the archive`, async () => {
        const { store, root, outside } = await setup();
        plant(root, outside);
        await rejectsWith(sendChunks(store, testVolume(3)), 'EACCES');
        assert.deepEqual(readdirSync(outside), []);
      });
    }

    it('a send does not write through a link planted at a chunk file name', async () => {
      const { store, root, outside } = await setup();
      writeFileSync(join(outside, 'target'), 'outside');
      mkdirSync(join(root, sentChunkPath(0).replace(/\/[^/]+$/, '')), { recursive: true });
      symlinkSync(join(outside, 'target'), join(root, sentChunkPath(0)));
      await rejectsWith(sendChunks(store, testVolume(3)), 'EEXIST');
      assert.equal(readFileSync(join(outside, 'target'), 'utf8'), 'outside');
      assert.deepEqual(readdirSync(outside), ['target']);
    });
  });
}
