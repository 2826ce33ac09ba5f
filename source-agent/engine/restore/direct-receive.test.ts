// A direct receive's workers read, check and write chunks themselves: they must give the bytes and
// the errors readChunks gives (every Wyng cipher mode and compression, damaged and missing chunk
// files, a chunk file replaced by a link), never let a chunk that failed its checks touch the
// target, and hand a held first chunk back instead of writing it.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, cpSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FIXTURES, fixtureArchive, WYNG_FIXTURES } from '../../../test/helpers/paths.js';
import { openArchive } from '../../../test/helpers/write-context.js';
import type { Archive } from '../../archive/archive.js';
import { IntegrityError } from '../../errors.js';
import { LocalStore } from '../../store/local-store.js';
import { buildVolumeIndex } from '../select/volume-index.js';
import { placeChunks } from './direct-receive.js';
import { planRestore, readChunks } from './restore-stream.js';

const dir = mkdtempSync(join(tmpdir(), 'skiff-direct-receive-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const FILL = 0xaa;

async function planOf(archive: Archive, volumeName: string, session: number) {
  const vid = (await buildVolumeIndex(archive)).byName.get(volumeName);
  assert.ok(vid, volumeName);
  const volume = await archive.loadVolume(vid);
  return planRestore(archive, volume, session);
}

interface Outcome {
  /** The target file afterwards (it starts as FILL bytes). */
  bytes: Buffer;
  /** What the caller was handed: "index: zero|data|corrupt message" (placed chunks left out). */
  handed: string[];
  error: Error | null;
}

/**
 * Runs placeChunks into a file of FILL bytes; the caller's part (receive.ts and restore-target.ts)
 * is done as a file target would, except that handed-back zero chunks are written as zeros.
 */
async function placeInto(
  archive: Archive,
  volumeName: string,
  session: number,
  options: { holdsFirstChunk?: boolean; skipCorrupt?: boolean; workers?: number } = {},
): Promise<Outcome> {
  const plan = await planOf(archive, volumeName, session);
  const path = join(dir, `target-${Math.random().toString(16).slice(2)}`);
  writeFileSync(path, Buffer.alloc(plan.session.info.volsize, FILL));
  const fd = openSync(path, 'r+');
  const handed: string[] = [];
  let error: Error | null = null;
  try {
    const chunks = placeChunks(archive, plan.chunks, { fd, holdsFirstChunk: options.holdsFirstChunk ?? false }, options);
    for await (const chunk of chunks) {
      if (chunk.placed) continue;
      if (chunk.corrupt) handed.push(`${chunk.index}: corrupt ${chunk.corrupt.message}`);
      else handed.push(`${chunk.index}: ${chunk.data ? 'data' : 'zero'}`);
      const data = chunk.data ?? Buffer.alloc(chunk.size);
      writeSync(fd, data, 0, data.length, chunk.address);
    }
  } catch (caught) {
    error = caught as Error;
  } finally {
    closeSync(fd);
  }
  return { bytes: readFileSync(path), handed, error };
}

/** The error readChunks stops with on the calling thread, for comparison. */
async function readChunksError(archive: Archive, volumeName: string, session: number): Promise<Error | null> {
  const plan = await planOf(archive, volumeName, session);
  try {
    for await (const _ of readChunks(archive, plan.chunks, { workers: 0 })) {
      // read through
    }
  } catch (error) {
    return error as Error;
  }
  return null;
}

/** placeChunks stops on the archive at `copy` (vol2.img, session 0) with the error readChunks gives. */
async function assertStopsAsReadChunks(copy: string, how: string): Promise<void> {
  const archive = await openArchive(new LocalStore(copy));
  const expectedError = await readChunksError(archive, 'vol2.img', 0);
  assert.ok(expectedError, how);
  const r = await placeInto(archive, 'vol2.img', 0, { workers: 2 });
  assert.ok(r.error, how);
  assert.equal(r.error.constructor, expectedError.constructor, how);
  // The descriptor through which the file was opened may differ, nothing else.
  const fd = /\/proc\/self\/fd\/[0-9]+/g;
  assert.equal(r.error.message.replace(fd, 'FD'), expectedError.message.replace(fd, 'FD'), how);
}

/** A copy of the fixture archive, and the chunk files (archive paths) a session of a volume reads. */
async function copyWithChunkFiles(
  fixture: (typeof WYNG_FIXTURES)[number],
  name: string,
  volumeName: string,
): Promise<{ copy: string; chunkFiles: string[] }> {
  const copy = join(dir, name);
  cpSync(fixtureArchive(fixture.dir), copy, { recursive: true });
  const plan = await planOf(await openArchive(new LocalStore(copy), fixture.passphrase ?? ''), volumeName, 0);
  const chunkFiles: string[] = [];
  for (let i = 0; i < plan.chunks.length; i++) {
    const path = plan.chunks.path(i);
    if (path !== null) chunkFiles.push(path);
  }
  return { copy, chunkFiles };
}

describe('placeChunks (direct receive)', () => {
  for (const fixture of WYNG_FIXTURES) {
    it(`restores every session of ${fixture.dir} byte-identical`, async () => {
      const archive = await openArchive(new LocalStore(fixtureArchive(fixture.dir)), fixture.passphrase ?? '');
      for (const [volumeName, images] of Object.entries(fixture.volumes)) {
        for (const [session, image] of images.entries()) {
          const expected = image === null ? Buffer.alloc(0) : readFileSync(join(FIXTURES, fixture.dir, image));
          for (const workers of [1, 2]) {
            const r = await placeInto(archive, volumeName, session, { workers });
            assert.equal(r.error, null);
            assert.ok(r.bytes.equals(expected), `${volumeName} session ${session}, ${workers} workers`);
          }
        }
      }
    });
  }

  it('hands the first chunk back when the target holds it, and never writes it', async () => {
    const fixture = WYNG_FIXTURES[0];
    const archive = await openArchive(new LocalStore(fixtureArchive(fixture.dir)), fixture.passphrase);
    const expected = readFileSync(join(FIXTURES, fixture.dir, fixture.volumes['vol1.img'][0]));
    const chunkSize = archive.chunkSize;
    const plan = await planOf(archive, 'vol1.img', 0);
    assert.ok(plan.chunks.path(0) !== null && !expected.subarray(0, chunkSize).every((b) => b === 0), 'chunk 0 holds data');
    // Only the chunks handed back are written by placeInto: the held chunk 0 among them.
    const r = await placeInto(archive, 'vol1.img', 0, { holdsFirstChunk: true, workers: 2 });
    assert.equal(r.error, null);
    assert.equal(r.handed[0], '0: data');
    assert.ok(r.bytes.equals(expected));
    // And had the caller not written it, the target's first chunk would be untouched.
    const path = join(dir, 'held');
    writeFileSync(path, Buffer.alloc(plan.session.info.volsize, FILL));
    const fd = openSync(path, 'r+');
    try {
      for await (const _ of placeChunks(archive, plan.chunks, { fd, holdsFirstChunk: true }, { workers: 2 })) {
        // the caller writes nothing
      }
    } finally {
      closeSync(fd);
    }
    const after = readFileSync(path);
    assert.ok(
      after.subarray(0, chunkSize).every((b) => b === FILL),
      'a worker wrote the first chunk',
    );
  });

  it('stops at a damaged chunk as readChunks does, and never writes a chunk that failed its checks', async () => {
    const fixture = WYNG_FIXTURES[0];
    const { copy, chunkFiles } = await copyWithChunkFiles(fixture, 'damaged', 'vol1.img');
    assert.ok(chunkFiles.length >= 3, 'the fixture session has chunk files');
    const flipped = join(copy, chunkFiles[1] as string);
    const bytes = readFileSync(flipped);
    const middle = bytes.length >> 1;
    bytes[middle] = (bytes[middle] as number) ^ 0x40;
    writeFileSync(flipped, bytes);
    const archive = await openArchive(new LocalStore(copy), fixture.passphrase);
    const expectedError = await readChunksError(archive, 'vol1.img', 0);
    assert.ok(expectedError instanceof IntegrityError);

    const r = await placeInto(archive, 'vol1.img', 0, { workers: 2 });
    assert.ok(r.error instanceof IntegrityError);
    assert.equal(r.error.message, expectedError.message);

    // Skipped: handed back as corrupt, and its range of the target still holds what was there.
    const plan = await planOf(archive, 'vol1.img', 0);
    let damaged = -1;
    for (let i = 0; i < plan.chunks.length; i++) if (plan.chunks.path(i) === chunkFiles[1]) damaged = i;
    assert.ok(damaged > 0);
    const path = join(dir, 'skipped');
    writeFileSync(path, Buffer.alloc(plan.session.info.volsize, FILL));
    const fd = openSync(path, 'r+');
    const corrupt: number[] = [];
    try {
      for await (const chunk of placeChunks(archive, plan.chunks, { fd, holdsFirstChunk: false }, { workers: 2, skipCorrupt: true })) {
        if (chunk.corrupt) corrupt.push(chunk.index);
      }
    } finally {
      closeSync(fd);
    }
    assert.deepEqual(corrupt, [damaged]);
    const start = plan.chunks.address(damaged);
    const range = readFileSync(path).subarray(start, start + plan.chunks.size(damaged));
    assert.ok(
      range.every((b) => b === FILL),
      'bytes of the damaged chunk reached the target',
    );
  });

  it('stops at a missing chunk file, and at one replaced by a link, as readChunks does', async () => {
    const fixture = WYNG_FIXTURES[3];
    for (const how of ['missing', 'link'] as const) {
      const { copy, chunkFiles } = await copyWithChunkFiles(fixture, how, 'vol2.img');
      const victim = join(copy, chunkFiles[2] as string);
      rmSync(victim);
      // A link to a good chunk file (the right bytes, even): still refused, never followed.
      if (how === 'link') symlinkSync(join(copy, chunkFiles[2] as string).replace(copy, fixtureArchive(fixture.dir)), victim);
      await assertStopsAsReadChunks(copy, how);
    }
  });
  it('stops at a FIFO (without blocking), an oversized or empty chunk file and a chunk directory swapped for a link, as readChunks does', async () => {
    const fixture = WYNG_FIXTURES[3];
    for (const how of ['fifo', 'oversized', 'empty', 'dirlink'] as const) {
      const { copy, chunkFiles } = await copyWithChunkFiles(fixture, how, 'vol2.img');
      const victim = join(copy, chunkFiles[2] as string);
      const probe = await openArchive(new LocalStore(copy));
      if (how === 'fifo') {
        rmSync(victim);
        execFileSync('mkfifo', [victim]);
      } else if (how === 'oversized') {
        writeFileSync(victim, Buffer.alloc(probe.maxChunkFileBytes + 1, 1));
      } else if (how === 'empty') {
        writeFileSync(victim, Buffer.alloc(0));
      } else {
        // The directory holding the chunk moved aside, a link to it in its place: never followed.
        renameSync(dirname(victim), `${dirname(victim)}.moved`);
        symlinkSync(`${dirname(victim)}.moved`, dirname(victim));
      }
      await assertStopsAsReadChunks(copy, how);
    }
  });

  it("reads beneath the store's own directory, not the path opened again after the destination replaced it", async () => {
    const fixture = WYNG_FIXTURES[0];
    const expected = readFileSync(join(FIXTURES, fixture.dir, fixture.volumes['vol1.img'][0]));
    const { copy, chunkFiles } = await copyWithChunkFiles(fixture, 'swapped-root', 'vol1.img');
    const archive = await openArchive(new LocalStore(copy), fixture.passphrase);
    // The destination moves the archive away and puts another in its place, chunk files damaged.
    const moved = `${copy}-moved`;
    renameSync(copy, moved);
    cpSync(moved, copy, { recursive: true });
    for (const chunk of chunkFiles) writeFileSync(join(copy, chunk), Buffer.alloc(64, 0x55));
    const r = await placeInto(archive, 'vol1.img', 0, { workers: 2 });
    assert.equal(r.error, null);
    assert.ok(r.bytes.equals(expected), 'restored from the directory the store opened');
  });
});
