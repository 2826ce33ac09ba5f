import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runStoreSuite } from '../../test/store-conformance.js';
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

runStoreSuite('LocalStore', tempStore);
runStoreSuite('MemoryStore', async () => new MemoryStore());

describe('LocalStore specifics', () => {
  it('does not follow a symlink planted in the archive', async () => {
    const store = await tempStore();
    writeFileSync(join(store.root, 'secret'), 'outside');
    symlinkSync('/etc/hostname', join(store.root, 'archive.ini'));
    await assert.rejects(store.read('archive.ini', 1000), (e: unknown) => e instanceof StoreError && e.code === 'EINVAL');
  });
  it('takes over a lock left by a process that no longer exists', async () => {
    const store = await tempStore();
    writeFileSync(join(store.root, '.skiff-lock'), '999999999\n');
    await (await store.lock()).release();
  });
  it('leaves no temporary file behind after put', async () => {
    const store = await tempStore();
    await store.put('a/b', Buffer.from('x'));
    assert.deepEqual(await store.list('a'), ['b']);
  });
});
