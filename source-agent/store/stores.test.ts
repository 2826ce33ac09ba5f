import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runFileSystemStoreSuite, runStoreSuite } from '../../test/store-conformance.js';
import { LocalStore } from './local-store.js';
import { MemoryStore } from './memory-store.js';
import { StoreError } from './store.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tempStore = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-store-'));
  dirs.push(dir);
  return new LocalStore(dir);
};

runFileSystemStoreSuite('LocalStore', async (directory) => new LocalStore(directory));
runStoreSuite('MemoryStore', async () => new MemoryStore());

describe('LocalStore specifics', () => {
  it('does not follow a symlink planted in the archive', async () => {
    const store = await tempStore();
    writeFileSync(join(store.root, 'secret'), 'outside');
    symlinkSync('/etc/hostname', join(store.root, 'archive.ini'));
    await assert.rejects(store.read('archive.ini', 1000), (e: unknown) => e instanceof StoreError && e.code === 'EINVAL');
  });

  it('names the archive path in its errors, not the /proc/self/fd path it opened', async () => {
    const store = await tempStore();
    await store.writeNew('Vol_1/x', Buffer.from('there before'));
    await assert.rejects(store.writeNew('Vol_1/x', Buffer.from('new')), (e: unknown) => {
      assert.ok(e instanceof StoreError && e.code === 'EEXIST');
      assert.equal(e.message, 'Vol_1/x: file already exists');
      return true;
    });
  });
});
