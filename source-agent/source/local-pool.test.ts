import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LocalStorageError } from '../errors.js';
import { classifyLocal, openLocalPool, openLocalStorage } from './local-pool.js';

// Without `lvm` on PATH (the thin-pool cases with a model are in test/lvm/).
const env = { PATH: '/nonexistent' };

describe('--local classification (one classifier, two needs)', () => {
  it('an existing directory is a directory for both needs, relative to the working directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-local-'));
    try {
      for (const missing of ['error', 'offline'] as const) {
        assert.deepEqual(await classifyLocal('.', { cwd: dir, env, missing }), { kind: 'directory', path: dir });
        assert.deepEqual(await classifyLocal(dir, { cwd: '/', env, missing }), { kind: 'directory', path: dir });
      }
      assert.deepEqual(await openLocalStorage(dir, '/', env), { kind: 'directory', path: dir });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('VG/POOL without lvm: an error for send/monitor/receive, offline for delete/arch-check', async () => {
    await assert.rejects(
      classifyLocal('qubes_dom0/vm-pool', { cwd: '/', env, missing: 'error' }),
      (e: unknown) =>
        e instanceof LocalStorageError &&
        e.message ===
          'Required command not found: lvm (--local=qubes_dom0/vm-pool is not a directory, so it names an LVM thin pool VG/POOL)',
    );
    await assert.rejects(openLocalPool('qubes_dom0/vm-pool', { cwd: '/', vouch: [], env }), /Required command not found: lvm/);
    assert.equal(await classifyLocal('qubes_dom0/vm-pool', { cwd: '/', env, missing: 'offline' }), null);
    assert.equal(await openLocalStorage('qubes_dom0/vm-pool', '/', env), null);
  });

  it('a missing path that is no LVM name: null; send says "Local path not found"', async () => {
    for (const missing of ['error', 'offline'] as const)
      assert.equal(await classifyLocal('/nonexistent/a/b', { cwd: '/', env, missing }), null);
    await assert.rejects(
      openLocalPool('/nonexistent/a/b', { cwd: '/', vouch: [], env }),
      (e: unknown) => e instanceof LocalStorageError && e.message.startsWith("Local path not found: '/nonexistent/a/b'"),
    );
    assert.equal(await openLocalStorage(undefined, '/', env), null);
    assert.equal(await openLocalStorage('', '/', env), null);
  });
});
