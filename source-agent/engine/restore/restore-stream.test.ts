// readChunks decodes on worker threads for long lists and on the calling thread for short ones;
// both must give the same bytes and the same errors. These run both paths over Wyng's own
// archives (every cipher mode and compression) and over damaged copies of them.

import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FIXTURES, fixtureArchive, WYNG_FIXTURES } from '../../../test/helpers/paths.js';
import { openArchive } from '../../../test/helpers/write-context.js';
import type { Archive } from '../../archive/archive.js';
import { IntegrityError } from '../../errors.js';
import { LocalStore } from '../../store/local-store.js';
import { connectHelper, localHelper } from '../../transport/connect.js';
import { buildVolumeIndex } from '../select/volume-index.js';
import { openDecoder, planRestore, type ReadOptions, readChunks } from './restore-stream.js';

const dir = mkdtempSync(join(tmpdir(), 'skiff-restore-stream-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The restored volume, or the error the stream stopped with; skipped chunks as "index: message". */
async function restore(archive: Archive, volumeName: string, session: number, options: ReadOptions) {
  const vid = (await buildVolumeIndex(archive)).byName.get(volumeName);
  assert.ok(vid, volumeName);
  const volume = await archive.loadVolume(vid);
  const plan = await planRestore(archive, volume, session);
  const bytes = Buffer.alloc(volume.sessions[session]?.info.volsize ?? 0);
  const skipped: string[] = [];
  try {
    for await (const chunk of readChunks(archive, plan.chunks, options)) {
      if (chunk.corrupt) skipped.push(`${chunk.index}: ${chunk.corrupt.message}`);
      chunk.data?.copy(bytes, chunk.address);
    }
  } catch (error) {
    return { bytes: null, skipped, error: error as Error };
  }
  return { bytes, skipped, error: null };
}

const WORKER_VARIANTS: { name: string; options: ReadOptions }[] = [
  { name: 'two workers', options: { workers: 2 } },
  { name: 'one worker, one slot', options: { workers: 1, readAhead: 1 } },
  { name: 'two workers, three slots', options: { workers: 2, readAhead: 3 } },
];

describe('readChunks on decode workers', () => {
  for (const fixture of WYNG_FIXTURES) {
    it(`restores every session of ${fixture.dir} byte-identical, as the calling thread does`, async () => {
      const archive = await openArchive(new LocalStore(fixtureArchive(fixture.dir)), fixture.passphrase ?? '');
      for (const [volumeName, images] of Object.entries(fixture.volumes)) {
        for (const [session, image] of images.entries()) {
          const expected = image === null ? Buffer.alloc(0) : readFileSync(join(FIXTURES, fixture.dir, image));
          const onThread = await restore(archive, volumeName, session, { workers: 0 });
          assert.equal(onThread.error, null);
          assert.ok(onThread.bytes?.equals(expected), `${volumeName} session ${session} on the calling thread`);
          for (const variant of WORKER_VARIANTS) {
            const r = await restore(archive, volumeName, session, variant.options);
            assert.equal(r.error, null, variant.name);
            assert.ok(r.bytes?.equals(expected), `${volumeName} session ${session}, ${variant.name}`);
          }
        }
      }
    });
  }

  it('reads many lists through one shared decoder, also after a list that failed part-way', async () => {
    const fixture = WYNG_FIXTURES[3];
    const copy = join(dir, 'shared');
    cpSync(fixtureArchive(fixture.dir), copy, { recursive: true });
    const archive = await openArchive(new LocalStore(copy));
    const expected = await restore(archive, 'vol2.img', 2, { workers: 0 });
    const vid = (await buildVolumeIndex(archive)).byName.get('vol2.img');
    assert.ok(vid);
    const volume = await archive.loadVolume(vid);
    const laterPaths = new Set<string>();
    for (let n = 1; n < volume.sessions.length; n++) {
      const later = await planRestore(archive, volume, n);
      for (let i = 0; i < later.chunks.length; i++) laterPaths.add(later.chunks.path(i) ?? '');
    }
    // The first chunk file only session 0 uses: its list fails early, leaving reads and
    // decodes in flight, and the later sessions do not need it.
    const plan = await planRestore(archive, volume, 0);
    let victim = '';
    for (let i = 0; i < plan.chunks.length && !victim; i++) {
      const path = plan.chunks.path(i);
      if (path && !laterPaths.has(path)) victim = path;
    }
    assert.ok(victim, 'session 0 has a chunk file of its own');
    rmSync(join(copy, victim));
    const decoder = openDecoder(archive, 2, 3);
    try {
      for (let round = 0; round < 3; round++) {
        const broken = await restore(archive, 'vol2.img', 0, { decoder });
        assert.match(String(broken.error?.message), new RegExp(victim.replace(/[/.]/g, '\\$&')));
        for (const [session, image] of fixture.volumes['vol2.img'].entries()) {
          if (session === 0) continue;
          const r = await restore(archive, 'vol2.img', session, { decoder });
          assert.equal(r.error, null);
          assert.ok(r.bytes?.equals(readFileSync(join(FIXTURES, fixture.dir, image))), `round ${round} session ${session}`);
        }
        const again = await restore(archive, 'vol2.img', 2, { decoder });
        assert.ok(again.bytes?.equals(expected.bytes as Buffer));
      }
    } finally {
      await decoder.close();
    }
  });

  it('restores through a destination helper (a child process) on workers, byte-identical', async () => {
    const fixture = WYNG_FIXTURES[0];
    const store = await connectHelper(localHelper(), {
      url: 'test:helper',
      root: fixtureArchive(fixture.dir),
      create: false,
      timeoutMs: 30_000,
    });
    try {
      const archive = await openArchive(store, fixture.passphrase);
      for (const [session, image] of fixture.volumes['vol1.img'].entries()) {
        const expected = readFileSync(join(FIXTURES, fixture.dir, image));
        for (const options of [{ workers: 2 }, { workers: 2, readAhead: 2 }]) {
          const r = await restore(archive, 'vol1.img', session, options);
          assert.equal(r.error, null);
          assert.ok(r.bytes?.equals(expected), `session ${session} ${JSON.stringify(options)}`);
        }
      }
    } finally {
      await store.close();
    }
  });

  it('reports a damaged chunk exactly as the calling thread does, and skips it the same way', async () => {
    const fixture = WYNG_FIXTURES[0];
    const copy = join(dir, 'damaged');
    cpSync(fixtureArchive(fixture.dir), copy, { recursive: true });
    // Flip one byte in the middle of the first session's second chunk file, and cut another short.
    const vid = readdirSync(copy).find((name) => name.startsWith('Vol_')) as string;
    const sessionDir = readdirSync(join(copy, vid))
      .filter((name) => name.startsWith('S_'))
      .sort()[0] as string;
    const chunkFiles = readdirSync(join(copy, vid, sessionDir), { recursive: true })
      .map(String)
      .filter((name) => /(^|\/)x[0-9a-f]+$/.test(name))
      .sort();
    assert.ok(chunkFiles.length >= 3, 'the fixture session has chunk files');
    const flipped = join(copy, vid, sessionDir, chunkFiles[1] as string);
    const bytes = readFileSync(flipped);
    const middle = bytes.length >> 1;
    bytes[middle] = (bytes[middle] as number) ^ 0x40;
    writeFileSync(flipped, bytes);
    const cut = join(copy, vid, sessionDir, chunkFiles[2] as string);
    writeFileSync(cut, readFileSync(cut).subarray(0, 10));

    const archive = await openArchive(new LocalStore(copy), fixture.passphrase);
    const onThread = await restore(archive, 'vol1.img', 0, { workers: 0 });
    assert.ok(onThread.error instanceof IntegrityError, 'the calling thread stops at the damage');
    const skippedOnThread = await restore(archive, 'vol1.img', 0, { workers: 0, skipCorrupt: true });
    assert.equal(skippedOnThread.skipped.length, 2);
    for (const variant of WORKER_VARIANTS) {
      const r = await restore(archive, 'vol1.img', 0, variant.options);
      assert.ok(r.error instanceof IntegrityError, variant.name);
      assert.equal(r.error.message, onThread.error.message, variant.name);
      const skipped = await restore(archive, 'vol1.img', 0, { ...variant.options, skipCorrupt: true });
      assert.equal(skipped.error, null, variant.name);
      assert.deepEqual(skipped.skipped, skippedOnThread.skipped, variant.name);
      assert.ok(skipped.bytes?.equals(skippedOnThread.bytes as Buffer), `${variant.name}: the other chunks restore the same`);
    }
  });

  it('stops when a chunk file is missing, naming it', async () => {
    const fixture = WYNG_FIXTURES[3];
    const copy = join(dir, 'missing');
    cpSync(fixtureArchive(fixture.dir), copy, { recursive: true });
    const archive = await openArchive(new LocalStore(copy));
    const vid = (await buildVolumeIndex(archive)).byName.get('vol2.img');
    assert.ok(vid);
    const volume = await archive.loadVolume(vid);
    const plan = await planRestore(archive, volume, 0);
    let victim = '';
    for (let i = 0; i < plan.chunks.length && !victim; i++) victim = plan.chunks.path(i) ?? '';
    rmSync(join(copy, victim));
    const onThread = await restore(archive, 'vol2.img', 0, { workers: 0 });
    const onWorkers = await restore(archive, 'vol2.img', 0, { workers: 2 });
    assert.ok(onThread.error);
    assert.ok(onWorkers.error);
    assert.equal(onWorkers.error.message, onThread.error.message);
    assert.match(onWorkers.error.message, new RegExp(victim.replace(/[/.]/g, '\\$&')));
  });
});
