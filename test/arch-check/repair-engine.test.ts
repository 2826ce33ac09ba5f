// The repair engine on private copies of Wyng-made archives: the coherent prefix of a damaged
// volume, rewinding to it, and changing the uuid — each also interrupted at every store
// operation (test/helpers/failing-store.ts), then recovered from the destination alone: the
// archive loads and every session that was complete before restores byte-identical.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { CipherMode } from '../../source-agent/archive/crypto/cipher-modes.js';
import { recoverInterruptedWrites } from '../../source-agent/engine/maintain/recover.js';
import { changeArchiveUuid } from '../../source-agent/engine/maintain/repair/change-uuid.js';
import { rewindVolume } from '../../source-agent/engine/maintain/repair/rewind.js';
import { assessVolume, type RewindPlan } from '../../source-agent/engine/maintain/repair/volume-health.js';
import { anchorFor, compareWithAnchor, DestAnchors } from '../../source-agent/state/dest-anchor.js';
import { LocalState } from '../../source-agent/state/local-state.js';
import { LocalStore } from '../../source-agent/store/local-store.js';
import { scratchDir } from '../helpers/cli.js';
import { FailingStore } from '../helpers/failing-store.js';
import { silentOutput, writeContextFor } from '../helpers/write-context.js';
import {
  copyArchive,
  ENCRYPTED,
  ENCRYPTED_IMAGES,
  fixtureImage,
  openArchive,
  PLAIN,
  PLAIN_SESSIONS,
  restoreSession,
  treeOf,
} from './helpers.js';

const scratch = scratchDir('skiff-arch-repair-');
after(scratch.cleanup);
let serial = 0;
const fresh = (fixture: string) => copyArchive(fixture, join(scratch.dir, `a${++serial}`));

const NEWEST = PLAIN_SESSIONS[2][0];
const newestInfo = (root: string) => join(root, PLAIN.vid, NEWEST, 'info');

async function damagedPlan(root: string): Promise<RewindPlan> {
  const health = await assessVolume(await openArchive(new LocalStore(root)), PLAIN.vid);
  assert.equal(health.kind, 'damaged');
  return (health as { plan: RewindPlan }).plan;
}

/** The two older sessions of vol2.img restore to their images. */
async function assertOlderSessionsRestore(root: string): Promise<void> {
  const archive = await openArchive(new LocalStore(root));
  for (const [i, [, image]] of PLAIN_SESSIONS.slice(0, 2).entries()) {
    assert.ok((await restoreSession(archive, PLAIN.volume, i)).equals(fixtureImage(PLAIN.dir, image)), `session ${i}`);
  }
}

describe('volume health: the coherent prefix', () => {
  it('an intact volume is ok with every session', async () => {
    const health = await assessVolume(await openArchive(new LocalStore(fresh(PLAIN.dir))), PLAIN.vid);
    assert.equal(health.kind, 'ok');
    assert.equal(health.kind === 'ok' && health.volume.sessions.length, 3);
  });

  it('the newest info missing: keep the two older sessions', async () => {
    const root = fresh(PLAIN.dir);
    unlinkSync(newestInfo(root));
    const plan = await damagedPlan(root);
    assert.deepEqual(
      plan.keep.map((s) => s.name),
      PLAIN_SESSIONS.slice(0, 2).map(([s]) => s),
    );
    assert.deepEqual(plan.drop, [NEWEST]);
    assert.equal(plan.firstBad, NEWEST);
  });

  it('the newest info tampered with: the same', async () => {
    const root = fresh(PLAIN.dir);
    const bytes = readFileSync(newestInfo(root));
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 0x40;
    writeFileSync(newestInfo(root), bytes);
    const plan = await damagedPlan(root);
    assert.equal(plan.keep.length, 2);
    assert.deepEqual(plan.drop, [NEWEST]);
  });

  it('the middle manifest tampered with: keep only the first session', async () => {
    const root = fresh(PLAIN.dir);
    const path = join(root, PLAIN.vid, PLAIN_SESSIONS[1][0], 'manifest.z');
    const bytes = readFileSync(path);
    bytes[20] = (bytes[20] as number) ^ 0x01;
    writeFileSync(path, bytes);
    const plan = await damagedPlan(root);
    assert.deepEqual(
      plan.keep.map((s) => s.name),
      [PLAIN_SESSIONS[0][0]],
    );
    assert.deepEqual(plan.drop, [PLAIN_SESSIONS[1][0], NEWEST]);
  });

  it('the first session missing: nothing to keep', async () => {
    const root = fresh(PLAIN.dir);
    unlinkSync(join(root, PLAIN.vid, PLAIN_SESSIONS[0][0], 'info'));
    const plan = await damagedPlan(root);
    assert.equal(plan.keep.length, 0);
  });
});

describe('rewind', () => {
  it('drops the damaged session from volinfo, archive.ini and the destination', async () => {
    const root = fresh(PLAIN.dir);
    unlinkSync(newestInfo(root));
    const plan = await damagedPlan(root);
    const ctx = await writeContextFor(await openArchive(new LocalStore(root)), join(scratch.dir, `s${++serial}`));
    await rewindVolume(ctx, plan);
    const volume = await (await openArchive(new LocalStore(root))).loadVolume(PLAIN.vid);
    assert.deepEqual(
      volume.sessions.map((s) => s.name),
      PLAIN_SESSIONS.slice(0, 2).map(([s]) => s),
    );
    assert.ok(!existsSync(join(root, PLAIN.vid, NEWEST)));
    assert.equal(readFileSync(join(root, PLAIN.vid, 'sessions'), 'utf8'), '["S_20261128-153734", "S_20261128-153738"]');
    assert.ok(readFileSync(join(root, 'archive.ini.bak')).equals(readFileSync(join(root, 'archive.ini'))));
    await assertOlderSessionsRestore(root);
  });

  it('refuses when the volume changed after the check', async () => {
    const root = fresh(PLAIN.dir);
    unlinkSync(newestInfo(root));
    const plan = await damagedPlan(root);
    const ctx = await writeContextFor(await openArchive(new LocalStore(root)), join(scratch.dir, `s${++serial}`));
    await assert.rejects(rewindVolume(ctx, { ...plan, volinfoHash: 'x'.repeat(44) }), /changed since it was checked/);
  });

  it('interrupted at every store operation: old or new state, then recovers', async (t) => {
    const count = async (): Promise<number> => {
      const root = fresh(PLAIN.dir);
      unlinkSync(newestInfo(root));
      const plan = await damagedPlan(root);
      const store = new FailingStore(new LocalStore(root));
      await rewindVolume(await writeContextFor(await openArchive(store), join(scratch.dir, `s${++serial}`)), plan);
      return store.count;
    };
    const points = await count();
    assert.ok(points >= 9, `only ${points} fault points`);
    let rolledBack = 0;
    for (let k = 1; k <= points; k++) {
      const root = fresh(PLAIN.dir);
      unlinkSync(newestInfo(root));
      const plan = await damagedPlan(root);
      const store = new FailingStore(new LocalStore(root), k);
      const stateDir = join(scratch.dir, `s${++serial}`);
      await assert.rejects(rewindVolume(await writeContextFor(await openArchive(store), stateDir), plan), /injected fault/, `k=${k}`);

      const ctx = await writeContextFor(await openArchive(new LocalStore(root)), stateDir);
      await recoverInterruptedWrites(ctx, silentOutput);
      const health = await assessVolume(ctx.archive, PLAIN.vid);
      if (health.kind === 'damaged') {
        // The old state: nothing visible changed; the rewind can simply be run again.
        rolledBack++;
        await rewindVolume(ctx, health.plan);
      } else {
        assert.equal(health.kind, 'ok', `k=${k}`);
      }
      await recoverInterruptedWrites(await writeContextFor(await openArchive(new LocalStore(root)), stateDir), silentOutput);
      const volume = await (await openArchive(new LocalStore(root))).loadVolume(PLAIN.vid);
      assert.equal(volume.sessions.length, 2, `k=${k}`);
      assert.ok(!existsSync(join(root, PLAIN.vid, NEWEST)), `k=${k}: dropped session dir left`);
      assert.deepEqual(
        treeOf(root).filter((p) => p.endsWith('.tmp') || p.includes('.skiff-put-')),
        [],
        `k=${k}`,
      );
      await assertOlderSessionsRestore(root);
    }
    // The volinfo rename is the commit point: failing at it or before leaves the old state.
    assert.equal(rolledBack, 5);
    t.diagnostic(`rewind: ${points} fault points, ${rolledBack} rolled back`);
  });
});

describe('change uuid', () => {
  const stateFor = (metaDir: string, url: string) => (uuid: string) => LocalState.open(metaDir, uuid, url);
  /** Records the destination's anchor as the CLI does (arch-check.ts). */
  const anchorIn = (metaDir: string, mode: CipherMode) => ({
    recordAnchor: (uuid: string, previous: string | null) =>
      new DestAnchors(metaDir).save(anchorFor('file:/x', mode, uuid, previous ?? undefined)),
  });

  it('stores the new uuid, moves the rollback anchor and carries the counters over', async () => {
    const root = fresh(ENCRYPTED.dir);
    const metaDir = join(scratch.dir, `s${++serial}`);
    const archive = await openArchive(new LocalStore(root), ENCRYPTED.passphrase);
    const ctx = await writeContextFor(archive, metaDir);
    await ctx.state.saveCounters({ data: 1000n, metadata: 2000n });
    await ctx.state.saveSalt(readFileSync(join(root, 'archive.salt'))); // as the CLI's first run keeps it
    const old = archive.ini.uuid;
    const change = await changeArchiveUuid(ctx, stateFor(metaDir, archive.store.url), silentOutput);
    assert.equal(change.old, old);
    assert.notEqual(change.new, old);
    assert.match(change.new, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    const reread = await openArchive(new LocalStore(root), ENCRYPTED.passphrase);
    assert.equal(reread.ini.uuid, change.new);
    const next = await LocalState.open(metaDir, change.new, archive.store.url);
    assert.ok((await next.cachedRoot())?.equals(readFileSync(join(root, 'archive.ini'))));
    const counters = await next.counters();
    assert.ok(counters && counters.data >= 1000n && counters.metadata >= 2000n, JSON.stringify(String(counters?.metadata)));
    assert.ok(counters && counters.metadata >= (reread.ini.metadataCounter ?? 0n));
    assert.ok(await next.cachedSalt());
    // The old uuid's state holds the new root too: a replayed old root is older than it.
    assert.ok((await ctx.state.cachedRoot())?.equals(readFileSync(join(root, 'archive.ini'))));
    for (const [i, image] of ENCRYPTED_IMAGES.entries()) {
      assert.ok((await restoreSession(reread, ENCRYPTED.volume, i)).equals(fixtureImage(ENCRYPTED.dir, image)));
    }
  });

  it('interrupted at every store operation: old or new uuid, then recovers', async (t) => {
    const run = async (failAt: number) => {
      const root = fresh(ENCRYPTED.dir);
      const metaDir = join(scratch.dir, `s${++serial}`);
      const before = readFileSync(join(root, 'archive.ini'));
      const store = new FailingStore(new LocalStore(root), failAt);
      const archive = await openArchive(store, ENCRYPTED.passphrase);
      const old = archive.ini.uuid;
      const ctx = await writeContextFor(archive, metaDir);
      await new DestAnchors(metaDir).save(anchorFor('file:/x', archive.ini.mode, old));
      const result = changeArchiveUuid(ctx, stateFor(metaDir, store.url), silentOutput, anchorIn(metaDir, archive.ini.mode));
      return { root, metaDir, before, store, old, result };
    };
    const counting = await run(Number.POSITIVE_INFINITY);
    const change = await counting.result;
    const points = counting.store.count;
    assert.deepEqual(await new DestAnchors(counting.metaDir).read('file:/x'), {
      dest: 'file:/x',
      uuid: change.new,
      encrypted: true,
      cipher: '35', // xchacha20-dgr
    });
    assert.equal(points, 3); // archive.ini.tmp, its rename, archive.ini.bak
    for (let k = 1; k <= points; k++) {
      const { root, metaDir, before, old, result } = await run(k);
      await assert.rejects(result, /injected fault/);
      const archive = await openArchive(new LocalStore(root), ENCRYPTED.passphrase);
      await recoverInterruptedWrites(await writeContextFor(archive, metaDir), silentOutput);
      assert.ok(!existsSync(join(root, 'archive.ini.tmp')), `k=${k}`);
      // Whichever uuid the interruption left, the destination's anchor accepts it.
      const anchor = await new DestAnchors(metaDir).read('file:/x');
      assert.ok(anchor, `k=${k}`);
      assert.deepEqual(compareWithAnchor(anchor, { mode: archive.ini.mode, uuid: archive.ini.uuid }), { kind: 'ok' }, `k=${k}`);
      if (k <= 2) {
        assert.equal(archive.ini.uuid, old, `k=${k}`);
        assert.ok(readFileSync(join(root, 'archive.ini')).equals(before), `k=${k}`);
      } else {
        assert.notEqual(archive.ini.uuid, old, `k=${k}`);
      }
      for (const [i, image] of ENCRYPTED_IMAGES.entries()) {
        assert.ok((await restoreSession(archive, ENCRYPTED.volume, i)).equals(fixtureImage(ENCRYPTED.dir, image)), `k=${k} ${i}`);
      }
    }
    t.diagnostic(`change-uuid: ${points} fault points`);
  });
});
