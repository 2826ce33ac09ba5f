// send --dedup and arch-deduplicate through the engine, on file: archives (workers write the
// chunk files) and on the in-process remote store: every unique chunk is stored once (distinct
// inodes of the chunk files), every session restores byte for byte, arch-check passes, and a
// destination that refuses or limits hard links still gets a correct archive.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { archDeduplicate } from '../../source-agent/engine/dedup/arch-deduplicate.js';
import { NO_HARD_LINKS } from '../../source-agent/engine/dedup/hard-links.js';
import { FatalError } from '../../source-agent/errors.js';
import { LocalStore } from '../../source-agent/store/local-store.js';
import type { Store } from '../../source-agent/store/store.js';
import { silentOutput } from '../helpers/write-context.js';
import {
  archCheckFailures,
  chunkCensus,
  distinctChunks,
  inProcessRemote,
  LinkLimitedStore,
  newArchive,
  openArchive,
  patternVolume,
  restoreAll,
  sendFiles,
} from './dedup-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'skiff-dedup-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const T1 = new Date(Date.UTC(2026, 10, 28, 12, 0, 0));
const T2 = new Date(Date.UTC(2026, 10, 28, 12, 0, 5));

/** Files for volumes: name → image. */
function files(images: Record<string, Buffer>): { name: string; path: string }[] {
  const tag = n++;
  return Object.entries(images).map(([name, image]) => {
    const path = join(dir, `${tag}-${name}`);
    writeFileSync(path, image);
    return { name, path };
  });
}

async function assertRestores(store: Store, expected: Record<string, Buffer[]>): Promise<void> {
  const restored = await restoreAll(store);
  for (const [name, images] of Object.entries(expected)) {
    const got = restored.get(name);
    assert.equal(got?.length, images.length, `${name}: sessions`);
    images.forEach((image, i) => {
      assert.ok(got?.[i]?.equals(image), `${name} session ${i + 1} restores byte for byte`);
    });
  }
  assert.deepEqual(await archCheckFailures(store), []);
}

describe('send --dedup', () => {
  for (const encrypted of [false, true]) {
    it(`stores each chunk of two identical volumes once (${encrypted ? 'encrypted' : 'unencrypted'})`, async () => {
      const root = join(dir, `two-${n++}`);
      await newArchive(root, encrypted);
      const image = patternVolume('ab0cdefgh', 'twin');
      const store = new LocalStore(root);
      const { reports } = await sendFiles(await openArchive(store), files({ 'a.img': image, 'b.img': image }), { dedup: true, at: T1 });
      const census = chunkCensus(root);
      assert.equal(census.files, 16, 'every manifest entry has its file');
      assert.equal(census.inodes, distinctChunks([image]), 'one inode per distinct chunk');
      assert.equal(reports[1]?.storedBytes, 0);
      assert.ok((reports[1]?.dedupBytes ?? 0) > 0);
      await assertRestores(store, { 'a.img': [image], 'b.img': [image] });
    });
  }

  it('links repeats inside one volume, and repeats of earlier sessions in a later send', async () => {
    const root = join(dir, `repeat-${n++}`);
    await newArchive(root);
    const store = new LocalStore(root);
    const first = patternVolume('abacab0ab', 'rep');
    const [vol] = files({ 'r.img': first });
    await sendFiles(await openArchive(store), [vol as { name: string; path: string }], { dedup: true, at: T1 });
    assert.deepEqual(chunkCensus(root), { files: 8, inodes: 3, leftovers: 0 });
    // A second volume made of the first one's chunks in another order, and one new chunk.
    const other = Buffer.concat([first.subarray(2 * 65536, 3 * 65536), first.subarray(0, 65536), patternVolume('z', 'new')]);
    await sendFiles(await openArchive(store), files({ 'o.img': other }), { dedup: true, at: T2 });
    assert.deepEqual(chunkCensus(root), { files: 11, inodes: 4, leftovers: 0 });
    await assertRestores(store, { 'r.img': [first], 'o.img': [other] });
  });

  it('a dry run estimates the saving and writes nothing', async () => {
    const root = join(dir, `dry-${n++}`);
    await newArchive(root);
    const image = patternVolume('abcd', 'dry');
    const { reports } = await sendFiles(await openArchive(new LocalStore(root)), files({ 'a.img': image, 'b.img': image }), {
      dedup: true,
      at: T1,
      dryRun: true,
    });
    assert.equal(reports[1]?.dedupBytes, reports[0]?.storedBytes);
    assert.equal(chunkCensus(root).files, 0);
  });

  it('EMLINK: the chunk is written and becomes the file later repeats link to', async () => {
    const root = join(dir, `emlink-${n++}`);
    await newArchive(root);
    const image = patternVolume('abcde', 'emlink');
    const store = new LinkLimitedStore(root, { maxLinks: 2 });
    await sendFiles(await openArchive(store), files({ 'a.img': image, 'b.img': image, 'c.img': image, 'd.img': image }), {
      dedup: true,
      at: T1,
    });
    // Two names per inode at most: a+b share, c+d share.
    assert.deepEqual(chunkCensus(root), { files: 20, inodes: 10, leftovers: 0 });
    await assertRestores(new LocalStore(root), { 'a.img': [image], 'b.img': [image], 'c.img': [image], 'd.img': [image] });
  });

  it('links refused (EPERM) after the probe: warns once and writes every chunk', async () => {
    const root = join(dir, `eperm-${n++}`);
    await newArchive(root);
    const image = patternVolume('abc', 'eperm');
    const { warnings } = await sendFiles(
      await openArchive(new LinkLimitedStore(root, { code: 'EACCES' })),
      files({ 'a.img': image, 'b.img': image }),
      { dedup: true, at: T1 },
    );
    assert.equal(warnings.filter((w) => /Hard links failed/.test(w)).length, 1, warnings.join('\n'));
    assert.deepEqual(chunkCensus(root), { files: 6, inodes: 6, leftovers: 0 });
    await assertRestores(new LocalStore(root), { 'a.img': [image], 'b.img': [image] });
  });

  it("a destination without hard links: the probe fails, Wyng's warning, plain writes", async () => {
    const root = join(dir, `nolinks-${n++}`);
    await newArchive(root);
    unlinkSync(join(root, '.hardlink'));
    const image = patternVolume('ab', 'nolinks');
    const store = new LinkLimitedStore(root, { code: 'EACCES' });
    const { warnings } = await sendFiles(await openArchive(store), files({ 'a.img': image, 'b.img': image }), { dedup: true, at: T1 });
    assert.deepEqual(warnings, [NO_HARD_LINKS]);
    assert.deepEqual(chunkCensus(root), { files: 4, inodes: 4, leftovers: 0 });
    await assert.rejects(
      archDeduplicate(await openArchive(store), silentOutput),
      (e) => e instanceof FatalError && e.message === NO_HARD_LINKS,
    );
  });
});

describe('arch-deduplicate', () => {
  it('links every later copy in an archive sent without dedup; a second run changes nothing', async () => {
    const root = join(dir, `arch-${n++}`);
    await newArchive(root);
    const store = new LocalStore(root);
    const a1 = patternVolume('abcab0d', 'arch');
    const b1 = patternVolume('abcab0d', 'arch');
    await sendFiles(await openArchive(store), files({ 'a.img': a1, 'b.img': b1 }), { dedup: false, at: T1 });
    const a2 = Buffer.concat([a1.subarray(0, 3 * 65536), patternVolume('e', 'arch2'), a1.subarray(4 * 65536)]);
    await sendFiles(await openArchive(store), files({ 'a.img': a2 }), { dedup: false, at: T2 });
    assert.deepEqual(chunkCensus(root), { files: 13, inodes: 13, leftovers: 0 });

    const parts: string[] = [];
    const out = { ...silentOutput, verbose: false, write: (t: string) => void parts.push(t), line: (t = '') => void parts.push(`${t}\n`) };
    const report = await archDeduplicate(await openArchive(store), out);
    assert.deepEqual(chunkCensus(root), { files: 13, inodes: distinctChunks([a1, a2]), leftovers: 0 });
    assert.equal(report.linked, 13 - distinctChunks([a1, a2]));
    const text = parts.join('');
    assert.match(text, /^\nBuilding deduplication index\.\.\.\n\d+MB free on destination\.\nlinking\.\.\. done\.\n\d+MB free after\.\n$/);
    await assertRestores(store, { 'a.img': [a1, a2], 'b.img': [b1] });

    const again = await archDeduplicate(await openArchive(store), silentOutput);
    assert.equal(again.linked, 0);
    assert.equal(again.duplicates, report.duplicates);
  });

  it('EMLINK: the duplicate stays and later duplicates link to it', async () => {
    const root = join(dir, `arch-emlink-${n++}`);
    await newArchive(root);
    const image = patternVolume('abc', 'arch-emlink');
    await sendFiles(await openArchive(new LocalStore(root)), files({ 'a.img': image, 'b.img': image, 'c.img': image, 'd.img': image }), {
      dedup: false,
      at: T1,
    });
    await archDeduplicate(await openArchive(new LinkLimitedStore(root, { maxLinks: 2 })), silentOutput);
    assert.deepEqual(chunkCensus(root), { files: 12, inodes: 6, leftovers: 0 });
    await assertRestores(new LocalStore(root), { 'a.img': [image], 'b.img': [image], 'c.img': [image], 'd.img': [image] });
  });
});

describe('dedup over a remote destination (in-process helper)', () => {
  it('send --dedup and arch-deduplicate', async () => {
    const root = join(dir, `remote-${n++}`);
    await newArchive(root, true);
    const store = await inProcessRemote(root);
    try {
      const image = patternVolume('abcaXd0', 'remote');
      await sendFiles(await openArchive(store), files({ 'a.img': image, 'b.img': image }), { dedup: true, at: T1 });
      assert.deepEqual(chunkCensus(root), { files: 12, inodes: distinctChunks([image]), leftovers: 0 });
      await sendFiles(await openArchive(store), files({ 'c.img': image }), { dedup: false, at: T2 });
      assert.equal(chunkCensus(root).inodes, distinctChunks([image]) + 6);
      // c.img's session is the newest: its files are the ones kept; a's and b's 12 files and
      // c's own repeat of chunk a become links to them.
      const report = await archDeduplicate(await openArchive(store), silentOutput);
      assert.equal(report.linked, 13);
      assert.deepEqual(chunkCensus(root), { files: 18, inodes: distinctChunks([image]), leftovers: 0 });
      await assertRestores(store, { 'a.img': [image], 'b.img': [image], 'c.img': [image] });
    } finally {
      await store.close();
    }
  });
});
