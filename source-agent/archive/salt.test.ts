import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fixtureArchive } from '../../test/helpers/paths.js';
import { formatSaltFile, invertBytes, newSaltFile, parseSaltFile, SaltFormatError } from './salt.js';

describe('archive.salt', () => {
  const bytes = readFileSync(join(fixtureArchive('enc-dgr-zstd-256k'), 'archive.salt'));
  it('a new salt file has four random 64-byte salts and round-trips through the format', () => {
    const salt = newSaltFile();
    assert.deepEqual(
      salt.salts.map((s) => s.length),
      [64, 64, 64, 64],
    );
    assert.equal(new Set(salt.salts.map((s) => s.toString('hex'))).size, 4);
    const file = formatSaltFile(salt);
    assert.equal(file.length, 424);
    assert.deepEqual(parseSaltFile(file), salt);
  });
  it('formats back to the same 424 bytes', () => {
    assert.deepEqual(formatSaltFile(parseSaltFile(bytes)), bytes);
  });
  it('salt.bak is the inverted salt file', () => {
    assert.deepEqual(invertBytes(readFileSync(join(fixtureArchive('enc-dgr-zstd-256k'), 'salt.bak'))), bytes);
  });
  it('in ct mode salt.bak was saved one metadata nonce earlier than archive.salt', () => {
    const ct = parseSaltFile(readFileSync(join(fixtureArchive('enc-ct-zstd7-64k'), 'archive.salt')));
    const bak = parseSaltFile(invertBytes(readFileSync(join(fixtureArchive('enc-ct-zstd7-64k'), 'salt.bak'))));
    assert.deepEqual(ct.counters, [0n, 4n, 0n, 0n]);
    assert.deepEqual(bak.counters, [0n, 3n, 0n, 0n]);
    assert.deepEqual(bak.salts, ct.salts);
  });
  it('rejects a wrong size and non-zero padding', () => {
    assert.throws(() => parseSaltFile(bytes.subarray(0, 423)), SaltFormatError);
    const padded = Buffer.from(bytes);
    padded[75] = 1;
    assert.throws(() => parseSaltFile(padded), SaltFormatError);
  });
});
