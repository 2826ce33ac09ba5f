// Prune's merge on real archives (engine level, file: store): a volume with five sessions that
// change data, zero a chunk, shrink and grow; every run of consecutive sessions is pruned on a
// copy, and every remaining session must restore byte-identical and pass arch-check. Then the
// same merges interrupted at every changing store operation (a store that dies there), each
// recovered from the destination alone by the next write's recovery.

import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CIPHER_MODES } from '../../source-agent/archive/crypto/cipher-modes.js';
import type { SessionName, VolumeId } from '../../source-agent/archive/names.js';
import { archCheck } from '../../source-agent/engine/maintain/arch-check.js';
import { createArchive } from '../../source-agent/engine/maintain/arch-init.js';
import { recoverInterruptedWrites } from '../../source-agent/engine/maintain/recover.js';
import { mergeSessions } from '../../source-agent/engine/prune/merge-apply.js';
import { LocalStore } from '../../source-agent/store/local-store.js';
import type { Store } from '../../source-agent/store/store.js';
import { useKdfMemoHere } from '../helpers/cli.js';
import { FailingStore } from '../helpers/failing-store.js';
import { restoreAll } from '../helpers/session-archive.js';
import { keystream, makeVolume, writeAt } from '../helpers/volumes.js';
import { openArchive, openWriteContext, sendImportAt, silentOutput } from '../helpers/write-context.js';

// Not about the key derivation: the archive's scrypt comes from the test memo (helpers/cli.ts).
useKdfMemoHere();

const CHUNK = 65536;
const PASS = 'merge-test-passphrase';
const dir = mkdtempSync(join(tmpdir(), 'skiff-merge-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Session images by name, for each volume. */
const images = new Map<string, Buffer>();
const base = join(dir, 'base');

/** Every remaining session restores to its image; arch-check passes; `pruned` sessions are gone. */
async function assertArchive(root: string, pruned: readonly string[]): Promise<void> {
  const store = new LocalStore(root);
  const restored = await restoreAll(store, PASS);
  const expected = [...images.keys()].filter((key) => !pruned.includes(key));
  assert.deepEqual([...restored.keys()].sort(), expected.sort());
  for (const [key, bytes] of restored) assert.ok(bytes.equals(images.get(key) as Buffer), `${key} restores byte-identical`);
  const archive = await openArchive(store, PASS);
  assert.deepEqual(await archCheck(archive, { names: null, session: null }, silentOutput), []);
  assert.equal(archive.ini.inProcess.length, 0);
  for (const vid of archive.ini.volumes.keys()) {
    const entries = await store.list(vid);
    assert.ok(!entries.some((e) => e.startsWith('merge') || e.endsWith('.tmp')), `no merge leftovers in ${vid}: ${entries}`);
  }
}

let vid: VolumeId;
let sessions: SessionName[];

before(async () => {
  const store = new LocalStore(base);
  const archive = await createArchive(store, {
    mode: CIPHER_MODES['35'],
    compression: 'zstd',
    level: 3,
    chunkSize: CHUNK,
    passphrase: async () => Buffer.from(PASS),
    now: () => Date.now() / 1000,
  });
  const source = join(dir, 'vol.img');
  const other = join(dir, 'other.img');
  writeFileSync(source, makeVolume('merge', CHUNK, 12, 1000));
  writeFileSync(other, makeVolume('other', CHUNK, 4));
  const steps: (() => void)[] = [
    () => {},
    () => writeAt(source, CHUNK * 2, keystream('s1', CHUNK * 2)),
    () => {
      writeAt(source, CHUNK * 4, Buffer.alloc(CHUNK)); // a data chunk becomes zero
      writeAt(source, CHUNK * 5, keystream('s2', 100)); // a zero chunk becomes data
    },
    () => {
      truncateSync(source, CHUNK * 9 + 500); // shrink, partial last chunk
      writeAt(source, 0, keystream('s3', 10));
    },
    () => {
      truncateSync(source, CHUNK * 11); // grow back: new chunks are zero
      writeAt(source, CHUNK * 10, keystream('s4', CHUNK));
    },
  ];
  for (const [i, step] of steps.entries()) {
    step();
    await sendImportAt(archive, 'vol.img', source, new Date(Date.UTC(2026, 10, 20 + i, 12, 0, 0)));
    if (i % 2 === 0) {
      writeAt(other, 0, keystream(`o${i}`, 1000));
      await sendImportAt(archive, 'other.img', other, new Date(Date.UTC(2026, 10, 20 + i, 12, 0, 0)));
    }
  }
  const reopened = await openArchive(store, PASS);
  for (const [key, bytes] of await restoreAll(store, PASS)) images.set(key, bytes);
  // The sessions' images are the source as it was at each send (checked once here).
  assert.ok(images.get([...images.keys()].filter((k) => k.startsWith('vol.img@')).at(-1) as string)?.equals(readFileSync(source)));
  for (const v of reopened.ini.volumes.keys()) if ((await reopened.readVolInfo(v)).name === 'vol.img') vid = v;
  sessions = (await reopened.loadVolume(vid)).sessions.map((s) => s.name);
  assert.equal(sessions.length, 5);
});

async function prune(root: string, run: readonly SessionName[], store?: Store): Promise<void> {
  const ctx = await openWriteContext(store ?? new LocalStore(root), join(root, '..', `${root.split('/').at(-1)}-state`), {
    passphrase: PASS,
  });
  const volume = await ctx.archive.loadVolume(vid);
  await mergeSessions(ctx, volume, run);
}

const RUNS: [number, number][] = [
  [0, 0],
  [1, 1],
  [3, 3],
  [0, 1],
  [1, 2],
  [2, 3],
  [0, 2],
  [1, 3],
  [0, 3],
];

describe('prune merge', () => {
  for (const [from, to] of RUNS) {
    it(`removes sessions ${from}..${to} and keeps every other session's data`, async () => {
      const root = join(dir, `run-${from}-${to}`);
      cpSync(base, root, { recursive: true });
      const run = sessions.slice(from, to + 1);
      await prune(root, run);
      await assertArchive(
        root,
        run.map((s) => `vol.img@${s}`),
      );
      // The target keeps its own name and sequence; the chain now skips the run.
      const archive = await openArchive(new LocalStore(root), PASS);
      const volume = await archive.loadVolume(vid);
      const target = volume.sessions.find((s) => s.name === sessions[to + 1]);
      assert.equal(target?.info.previous ?? null, from === 0 ? null : sessions[from - 1]);
    });
  }
});

describe('prune merge interrupted at every store operation', () => {
  for (const [from, to] of [
    [1, 2],
    [2, 3],
    [0, 0],
  ] as [number, number][]) {
    it(`sessions ${from}..${to}: the next write completes or rolls back`, async (t) => {
      const run = sessions.slice(from, to + 1);
      const counting = join(dir, `count-${from}-${to}`);
      cpSync(base, counting, { recursive: true });
      const counter = new FailingStore(new LocalStore(counting));
      await prune(counting, run, counter);
      const total = counter.count;
      assert.ok(total > 10, `a merge has many steps (${total})`);
      let completed = 0;
      let rolledBack = 0;
      for (let k = 1; k <= total; k++) {
        const root = join(dir, `fault-${from}-${to}-${k}`);
        cpSync(base, root, { recursive: true });
        const failing = new FailingStore(new LocalStore(root), k);
        await assert.rejects(prune(root, run, failing), /injected fault/, `fails at operation ${k}`);
        const ctx = await openWriteContext(new LocalStore(root), join(dir, `fault-${from}-${to}-${k}-state2`), { passphrase: PASS });
        await recoverInterruptedWrites(ctx, silentOutput);
        const names = (await ctx.archive.loadVolume(vid)).sessions.map((s) => s.name);
        const done = !names.includes(run[0] as SessionName);
        if (done) completed++;
        else rolledBack++;
        await assertArchive(root, done ? run.map((s) => `vol.img@${s}`) : []);
        rmSync(root, { recursive: true, force: true });
      }
      assert.ok(completed > 0 && rolledBack > 0, `both outcomes occur (${completed} completed, ${rolledBack} rolled back)`);
      t.diagnostic(`${total} fault points: ${completed} completed, ${rolledBack} rolled back`);
    });
  }
});
