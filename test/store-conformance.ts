// The Store contract (source-agent/store/store.ts) as one suite that every implementation runs,
// after restic's backend test suite and kopia's VerifyStorage.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type Store, StoreError, type StoreErrorCode } from '../source-agent/store/store.js';

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
  });
}
