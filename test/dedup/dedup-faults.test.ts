// Fault injection: a dedup send and an arch-deduplicate run are stopped at every changing store
// operation in turn (FailingStore), then the archive is recovered the way the next write command
// does it (recoverInterruptedWrites; for arch-deduplicate also the next arch-deduplicate run).
// Each time: arch-check passes, every earlier session restores byte for byte, and finishing the
// work gives the fully deduplicated archive.

import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { archDeduplicate } from '../../source-agent/engine/dedup/arch-deduplicate.js';
import { recoverInterruptedWrites } from '../../source-agent/engine/maintain/recover.js';
import { LocalStore } from '../../source-agent/store/local-store.js';
import { FailingStore } from '../helpers/failing-store.js';
import { silentOutput, writeContextFor } from '../helpers/write-context.js';
import {
  archCheckFailures,
  chunkCensus,
  distinctChunks,
  newArchive,
  openArchive,
  patternVolume,
  restoreAll,
  sendFiles,
} from './dedup-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'skiff-dedup-faults-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const T1 = new Date(Date.UTC(2026, 10, 28, 12, 0, 0));
const T2 = new Date(Date.UTC(2026, 10, 28, 12, 0, 5));

const a1 = patternVolume('abca0d', 'fault-a');
const a2 = Buffer.concat([a1.subarray(0, 65536 * 2), patternVolume('e', 'fault-e'), a1.subarray(65536 * 3)]);
const b = Buffer.concat([a1.subarray(0, 65536 * 3), patternVolume('ef', 'fault-e')]);
const paths = { a1: join(dir, 'a1.img'), a2: join(dir, 'a2.img'), b: join(dir, 'b.img') };
writeFileSync(paths.a1, a1);
writeFileSync(paths.a2, a2);
writeFileSync(paths.b, b);

async function recover(root: string, k: number): Promise<void> {
  const archive = await openArchive(new LocalStore(root));
  await recoverInterruptedWrites(await writeContextFor(archive, join(dir, `state-${root.split('/').at(-1)}-${k}`)), silentOutput);
}

/** The restored images of every volume, oldest session first. */
async function images(root: string): Promise<Map<string, Buffer[]>> {
  return restoreAll(new LocalStore(root));
}

describe('fault injection', () => {
  it('send --dedup stopped at every operation', async (t) => {
    const template = join(dir, 'send-template');
    await newArchive(template);
    await sendFiles(await openArchive(new LocalStore(template)), [{ name: 'a.img', path: paths.a1 }], { dedup: false, at: T1 });
    const volumes = [
      { name: 'a.img', path: paths.a2 },
      { name: 'b.img', path: paths.b },
    ];

    const counting = new FailingStore(new LocalStore(join(dir, 'send-count')));
    cpSync(template, join(dir, 'send-count'), { recursive: true });
    await sendFiles(await openArchive(counting), volumes, { dedup: true, at: T2 });
    const points = counting.count;
    assert.ok(points > 15, `${points} operations`);
    t.diagnostic(`send --dedup: ${points} fault points`);
    // a1's repeated chunk went in twice in the session sent without dedup.
    const expectedInodes = distinctChunks([a1, a2, b]) + 1;
    assert.equal(chunkCensus(join(dir, 'send-count')).inodes, expectedInodes);

    for (let k = 1; k <= points; k++) {
      const root = join(dir, `send-${k}`);
      cpSync(template, root, { recursive: true });
      const failing = new FailingStore(new LocalStore(root), k);
      await assert.rejects(sendFiles(await openArchive(failing), volumes, { dedup: true, at: T2 }));
      await recover(root, k);
      assert.deepEqual(await archCheckFailures(new LocalStore(root)), [], `k=${k}`);
      const restored = await images(root);
      assert.ok(restored.get('a.img')?.[0]?.equals(a1), `k=${k}: the earlier session restores`);
      const a = restored.get('a.img') as Buffer[];
      if (a.length > 1) assert.ok(a[1]?.equals(a2), `k=${k}`);
      const bs = restored.get('b.img') ?? [];
      if (bs.length > 0) assert.ok(bs[0]?.equals(b), `k=${k}`);
      // The next send completes the work, deduplicated.
      await sendFiles(await openArchive(new LocalStore(root)), volumes, { dedup: true, at: new Date(T2.getTime() + 5000) });
      // Only the archive's volumes: a new volume whose commit was cut short before archive.ini
      // listed it stays behind as an orphaned directory (recover.ts leaves those alone).
      const listed = new Set<string>((await openArchive(new LocalStore(root))).ini.volumes.keys());
      assert.equal(chunkCensus(root, listed).inodes, expectedInodes, `k=${k}: every new chunk linked where it could be`);
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('arch-deduplicate stopped at every operation', async (t) => {
    const template = join(dir, 'dedup-template');
    await newArchive(template);
    await sendFiles(await openArchive(new LocalStore(template)), [{ name: 'a.img', path: paths.a1 }], { dedup: false, at: T1 });
    await sendFiles(
      await openArchive(new LocalStore(template)),
      [
        { name: 'a.img', path: paths.a2 },
        { name: 'b.img', path: paths.b },
      ],
      { dedup: false, at: T2 },
    );
    const expected = await images(template);

    const counting = new FailingStore(new LocalStore(join(dir, 'dedup-count')));
    cpSync(template, join(dir, 'dedup-count'), { recursive: true });
    await archDeduplicate(await openArchive(counting), silentOutput);
    const points = counting.count;
    assert.ok(points > 5, `${points} operations`);
    t.diagnostic(`arch-deduplicate: ${points} fault points`);
    const distinct = distinctChunks([a1, a2, b]);
    assert.equal(chunkCensus(join(dir, 'dedup-count')).inodes, distinct);

    for (let k = 1; k <= points; k++) {
      const root = join(dir, `dedup-${k}`);
      cpSync(template, root, { recursive: true });
      await assert.rejects(archDeduplicate(await openArchive(new FailingStore(new LocalStore(root), k)), silentOutput));
      await recover(root, k);
      assert.deepEqual(await archCheckFailures(new LocalStore(root)), [], `k=${k}`);
      assert.deepEqual(await images(root), expected, `k=${k}: every session restores byte for byte`);
      // The next run removes what the interrupted one left and finishes.
      await archDeduplicate(await openArchive(new LocalStore(root)), silentOutput);
      assert.deepEqual(chunkCensus(root), { files: chunkCensus(template).files, inodes: distinct, leftovers: 0 }, `k=${k}`);
      assert.deepEqual(await images(root), expected, `k=${k}`);
      rmSync(root, { recursive: true, force: true });
    }
  });
});
