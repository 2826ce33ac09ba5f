import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { initHashing } from './hash.js';
import { formatManifest, ManifestError, manifestBytes, manifestLine, parseManifest, writeManifestLine } from './manifest.js';
import { MergedManifest, ZERO_CHUNK } from './merged-manifest.js';

const H1 = 'JG8ADDSWPP7EFJjDboqxZbyUS-CTdMbG6qzLf0xCEQc=';
const H2 = 'jz4kURMNKsAO-_zYCq2VAiSeRNPGhUZU6sYPgvDhO30=';
const H3 = 'g1MxRBAZZAWo8Uuzqg570CSyyXnupsj53pggUMYd4I0=';
const CS = 262144;
const text = (lines: string[]) => Buffer.from(lines.map((l) => `${l}\n`).join(''));

before(initHashing);

describe('manifest', () => {
  it('parses and formats Wyng lines', () => {
    const t = text([`${H1} x0000000000000000`, '0 x0000000000040000', `${H2} x0000000000080000`]);
    const m = parseManifest(t, CS, 1_200_000);
    assert.equal(m.count, 3);
    assert.deepEqual([...m.chunkIndexes], [0, 1, 2]);
    assert.deepEqual([...m.isZero], [0, 1, 0]);
    assert.equal(formatManifest(m, CS), t.toString());
  });
  it('refuses malformed, unaligned, unordered and out-of-range lines', () => {
    for (const lines of [
      [`${H1} x000000000000000`],
      [`${H1}  x0000000000000000`],
      [`${H1} x0000000000000001`],
      [`${H1} x0000000000040000`, `${H2} x0000000000000000`],
      [`${H1} x0000000000000000`, `${H2} x0000000000000000`],
      [`${H1} x0000000000140000`],
      [`${H1} X0000000000000000`],
      [`${H1} x00000000000000AB`],
      ['1 x0000000000000000'],
    ]) {
      assert.throws(() => parseManifest(text(lines), CS, 1_200_000), ManifestError, lines.join('|'));
    }
    assert.throws(() => parseManifest(Buffer.from(`${H1} x0000000000000000`), CS, CS), ManifestError, 'no final newline');
  });
});

describe('manifest lines as bytes', () => {
  it('writeManifestLine writes exactly manifestLine, for any hash and address', () => {
    const hashes = [Buffer.alloc(32), Buffer.alloc(32, 0xff), ...Array.from({ length: 200 }, () => randomBytes(32))];
    const addresses = [0, CS, 0xffffffff + 1, 2 ** 40 + 5 * CS, 2 ** 52 - CS, 0x12345678 * CS];
    const out = Buffer.alloc(80, 0xee);
    for (const [i, hash] of hashes.entries()) {
      const address = addresses[i % addresses.length] as number;
      for (const h of [hash, null]) {
        const line = manifestLine(h, address);
        assert.equal(writeManifestLine(out, 5, h, address), line.length);
        assert.equal(out.subarray(5, 5 + line.length).toString('latin1'), line);
      }
    }
  });
  it('manifestBytes is the formatted manifest', () => {
    const m = parseManifest(
      text([`${H1} x0000000000000000`, '0 x0000000000040000', `${H2} x0000000000080000`, `${H3} x00000010000c0000`]),
      CS,
      2 ** 40,
    );
    assert.equal(manifestBytes(m, CS).toString('latin1'), formatManifest(m, CS));
  });
});

describe('merged manifest and mfcs', () => {
  it('crc32 of one zero line is the spec value', () => {
    assert.equal(crc32('0 x0000000000000000\n'), 3155656439);
  });
  it('newest entry wins, entries beyond the size are dropped, CRC is over the merged text', () => {
    const oldest = parseManifest(text([`${H1} x0000000000000000`, `${H1} x0000000000040000`, `${H1} x0000000000080000`]), CS, 3 * CS);
    const newer = parseManifest(text([`0 x0000000000040000`]), CS, 3 * CS);
    const newest = parseManifest(text([`${H3} x0000000000000000`]), CS, 2 * CS);
    const merged = new MergedManifest(2 * CS, CS);
    merged.addOlder(newest, 2);
    assert.ok(!merged.complete);
    merged.addOlder(newer, 1);
    assert.ok(merged.complete);
    merged.addOlder(oldest, 0);
    assert.equal(merged.chunkCount, 2);
    assert.deepEqual([...merged.source], [2, ZERO_CHUNK]);
    assert.equal(merged.crc(), crc32(`${H3} x0000000000000000\n0 x0000000000040000\n`));
    assert.equal(merged.firstUncovered(), -1);
  });
  it('reports the first chunk no session covers', () => {
    const merged = new MergedManifest(3 * CS, CS);
    merged.addOlder(parseManifest(text([`${H1} x0000000000000000`, `${H2} x0000000000080000`]), CS, 3 * CS), 0);
    assert.equal(merged.firstUncovered(), 1);
  });
  it('CRC of a merged manifest longer than one 64 KiB batch of lines', () => {
    const count = 3000;
    const lines: string[] = [];
    for (let i = 0; i < count; i++)
      lines.push(
        i % 7 === 3
          ? `0 x${(i * CS).toString(16).padStart(16, '0')}`
          : `${[H1, H2, H3][i % 3]} x${(i * CS).toString(16).padStart(16, '0')}`,
      );
    const merged = new MergedManifest(count * CS, CS);
    merged.addOlder(parseManifest(text(lines), CS, count * CS), 0);
    assert.equal(merged.crc(), crc32(text(lines)));
  });
  it('has CRC 0 for an empty volume and counts a short last chunk', () => {
    assert.equal(new MergedManifest(0, CS).crc(), 0);
    const merged = new MergedManifest(CS + 10, CS);
    assert.equal(merged.chunkCount, 2);
    assert.equal(merged.chunkBytes(1), 10);
  });
});
