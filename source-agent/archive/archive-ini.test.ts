import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArchiveIniError, formatArchiveIniText, formatHeader, parseArchiveIniText, parseHeader } from './archive-ini.js';
import { CIPHER_MODES } from './crypto/cipher-modes.js';

const WYNG_TEXT = `[var]
updated_at = 1795880231.5212743
uuid = f96acf11-e222-4f3b-951c-34de1364e519
format_ver = 3
chunksize = 262144
compression = zstd
compr_level = 3
hashtype = hmac-sha256
ci_mode = 35
dataci_count = 6
mci_count = 2

[volumes]
Vol_7b1cc7 = frezfPI86-80-46xYEIKOQJiXXAFSY6d8K76MbAJ7Fk=

[in_process]

`;

describe('archive.ini', () => {
  it('parses the header of every mode and refuses others', () => {
    for (const code of ['00', '32', '34', '35'] as const) assert.equal(parseHeader(formatHeader(CIPHER_MODES[code])).code, code);
    assert.throws(() => parseHeader(Buffer.from('[WYNG03]\nci = 30\n')), /unsupported cipher mode/);
    assert.throws(() => parseHeader(Buffer.from('[WYNG02]\nci = 35\n')), /not a Wyng V3/);
    assert.throws(() => parseHeader(Buffer.from('[var]\nupdated_at = 1\n')), /V2/);
    assert.throws(() => parseHeader(Buffer.from('[WYNG03]\n')), /header/);
  });
  it('reads Wyng text and writes it back byte for byte', () => {
    const ini = parseArchiveIniText(WYNG_TEXT, CIPHER_MODES['35']);
    assert.equal(formatArchiveIniText(ini), WYNG_TEXT);
  });
  it('accepts reordered keys and no spaces (like configparser)', () => {
    const text = WYNG_TEXT.replace('chunksize = 262144', 'chunksize=262144').replace(/updated_at = .*\n/, '');
    const withDate = text.replace('[var]\n', '[var]\nupdated_at = 1795880231\n');
    assert.equal(parseArchiveIniText(withDate, CIPHER_MODES['35']).chunkSize, 262144);
  });
  it('keeps the [in_process] journal in key order', () => {
    const text = WYNG_TEXT.replace(
      '[in_process]\n',
      '[in_process]\n0 = merge\n1 = Vol_7b1cc7\n2 = True\n3 = S_20261128-153711\n4 = S_20261128-153704\n',
    );
    assert.deepEqual(parseArchiveIniText(text, CIPHER_MODES['35']).inProcess, [
      'merge',
      'Vol_7b1cc7',
      'True',
      'S_20261128-153711',
      'S_20261128-153704',
    ]);
  });
  it('checks every field', () => {
    const bad = (from: string, to: string, pattern: RegExp) =>
      assert.throws(
        () => parseArchiveIniText(WYNG_TEXT.replace(from, to), CIPHER_MODES['35']),
        (e: Error) => e instanceof ArchiveIniError && pattern.test(e.message),
      );
    bad('ci_mode = 35', 'ci_mode = 34', /does not match/);
    bad('format_ver = 3', 'format_ver = 2', /format_ver/);
    bad('chunksize = 262144', 'chunksize = 1000', /chunksize/);
    bad('compression = zstd', 'compression = lz4', /compression/);
    bad('compr_level = 3', 'compr_level = 99', /compr_level/);
    bad('hashtype = hmac-sha256', 'hashtype = blake2b', /hashtype/);
    bad('updated_at = 1795880231.5212743', 'updated_at = 100', /updated_at/);
    bad('uuid = f96acf11-e222-4f3b-951c-34de1364e519', 'uuid = nonsense', /uuid/);
    bad('Vol_7b1cc7 = ', '../etc = ', /volume id/);
    bad('mci_count = 2', 'mci_count = -1', /mci_count/);
    bad('[var]', '[other]', /no \[var\]/);
  });
});
