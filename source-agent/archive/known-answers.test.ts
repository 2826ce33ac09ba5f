// The format spec's §18 vectors, decoded from the Wyng-made fixture enc-dgr-zstd-256k with the
// archive's own building blocks, step by step down the hash chain.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fixtureArchive } from '../../test/helpers/paths.js';
import { gunzipBody, HEADER_BYTES, parseArchiveIniText, parseHeader } from './archive-ini.js';
import { decompressBounded, makeCodec } from './compression/index.js';
import { CIPHER_MODES } from './crypto/cipher-modes.js';
import { openChunkEnvelope, openMetadataEnvelope } from './envelope.js';
import { encodeHash, hmacSha256DataHasher, initHashing, metadataHash } from './hash.js';
import { type ArchiveKeys, deriveRootKeys, deriveSubkeys } from './keys.js';
import { parseSaltFile, saltDigest } from './salt.js';

const ARCHIVE = fixtureArchive('enc-dgr-zstd-256k');
const file = (path: string) => readFileSync(join(ARCHIVE, path));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const codec = makeCodec('zstd', 3);

describe('format spec §18 known answers (fixture enc-dgr-zstd-256k)', () => {
  const salt = parseSaltFile(file('archive.salt'));
  let keys: ArchiveKeys;

  before(async () => {
    await initHashing();
    keys = await deriveSubkeys(await deriveRootKeys(Buffer.from('fixture-pass-1'), salt), salt, CIPHER_MODES['35']);
  });

  it('§18.1 archive.salt: counters, salts, digest and record', () => {
    assert.deepEqual(salt.counters, [0n, 2n, 0n, 0n]);
    assert.equal(
      hex(salt.salts[0]),
      'd35e89fba956740406a188cdb5f95ef16ef4a5269cc917c2421f53d18a0f328ce4c5481f1367d790bca1e0398204d2f551872a55fcc04ae91984b36ba73904c6',
    );
    assert.equal(
      hex(salt.salts[3]),
      '70e76ebf636499649eb3768cf741b17d6d453ca1b7f97f1084d0a27d6c133fe1202529d7aa0c85d86a074b69c08f922ad2545d2c6111647841622c8c79c573ac',
    );
    assert.equal(
      hex(saltDigest(salt.salts)),
      '1caea1a4d9d4ae10f8c523500b06197f172c40840bad6af2fbe437ea7795a38c07d5c529c06497be3c4834a1c6db060f98b28517ffe8f3e907432384a3450cf0',
    );
    assert.equal(hex(salt.record.nonce), 'cc93d080d5d2a8f178e9bcfdc113b9a6fd31cbb003e120bb');
    assert.equal(hex(salt.record.tag), 'ab0fcc613f22b497623d69d51bdb2174');
  });

  it('§18.2 derived keys', () => {
    assert.equal(hex(keys.dataKey), '1fe37ada42d69166e64e30db8c62cf0fe8b15dd0e680b8dc3c8bac959317e464');
    assert.equal(hex(keys.metadataKey), 'd2846de47075aa1cd2c52262f082e1c765bb372bf5d8f81744847dd1efaa8788');
    assert.equal(hex(keys.dataNonceKey as Buffer).slice(0, 32), 'ee64d2c20be51bced638f0d2c21d2c84');
    assert.equal(hex(keys.manifestHashKey).slice(0, 32), '7fb8f1664a2710ac43893a031143b215');
    assert.equal(hex(keys.metadataNonceKey as Buffer).slice(0, 32), '06e31f6f938379b6a6131815364baf4d');
  });

  it('§18.3 archive.ini: header, AEAD body, gzip, ini text', () => {
    const ini = file('archive.ini');
    assert.equal(ini.length, 315);
    assert.equal(parseHeader(ini).code, '35');
    const body = ini.subarray(HEADER_BYTES);
    assert.equal(hex(body.subarray(0, 24)), '4dc5f217a01b2235313ed4d9924f88524d15404baeb0d78b');
    const gz = openMetadataEnvelope(keys.metadataKey, body);
    assert.ok(gz);
    assert.equal(hex(gz.subarray(0, 10)), '1f8b080027f50a6b00ff');
    const parsed = parseArchiveIniText(gunzipBody(gz), CIPHER_MODES['35']);
    assert.equal(parsed.updatedAt, '1795880231.5212743');
    assert.equal(parsed.uuid, 'f96acf11-e222-4f3b-951c-34de1364e519');
    assert.equal(parsed.chunkSize, 262144);
    assert.equal(parsed.dataCounter, 6n);
    assert.equal(parsed.metadataCounter, 2n);
    assert.deepEqual([...parsed.volumes], [['Vol_7b1cc7', 'frezfPI86-80-46xYEIKOQJiXXAFSY6d8K76MbAJ7Fk=']]);
    assert.deepEqual(parsed.inProcess, []);
  });

  it('§18.4 volinfo → info → manifest → chunk', () => {
    const volinfo = file('Vol_7b1cc7/volinfo');
    assert.equal(volinfo.length, 189);
    const compressed = openMetadataEnvelope(keys.metadataKey, volinfo) as Buffer;
    assert.equal(hex(compressed.subarray(0, 9)), '28b52ffd209a650400');
    assert.equal(encodeHash(metadataHash(compressed)), 'frezfPI86-80-46xYEIKOQJiXXAFSY6d8K76MbAJ7Fk=');
    assert.equal(
      decompressBounded(codec, compressed, 4096).toString(),
      'name = vol1.img\ndesc = \nS_20261128-153704 = 3KdjUdH-sPltTKlUnBpECGwozixKiAe_VsFu7INp4xo=\nS_20261128-153711 = nUpMMQLqeEOg4MKohO-ux24NvpvfDfUSk79WcEdGDVs=\n',
    );
    const info = openMetadataEnvelope(keys.metadataKey, file('Vol_7b1cc7/S_20261128-153704/info')) as Buffer;
    assert.equal(encodeHash(metadataHash(info)), '3KdjUdH-sPltTKlUnBpECGwozixKiAe_VsFu7INp4xo=');
    assert.match(decompressBounded(codec, info, 4096).toString(), /^localtime = 1795880218660387895\nprevious = None\n/);
    const manifest = openMetadataEnvelope(keys.metadataKey, file('Vol_7b1cc7/S_20261128-153704/manifest.z')) as Buffer;
    assert.equal(encodeHash(metadataHash(manifest)), 'oX_wnL7UKecPaZHvf2-RwSZigt4qRuDtOvPUJUwUtv4=');
    assert.match(
      decompressBounded(codec, manifest, 4096).toString(),
      /^JG8ADDSWPP7EFJjDboqxZbyUS-CTdMbG6qzLf0xCEQc= x0000000000000000\n0 x0000000000040000\n/,
    );
    const chunk = file('Vol_7b1cc7/S_20261128-153704/000000000/x0000000000000000');
    assert.equal(chunk.length, 262183);
    assert.equal(hex(chunk.subarray(0, 24)), 'd1a0ea2df3b90a35a6670a06c174e6bb034ab13fffbb9954');
    const plain = openChunkEnvelope(keys.dataKey, chunk);
    assert.equal(plain.length, 262159);
    assert.equal(hex(plain.subarray(0, 16)), '28b52ffda0000004000000107b7ef861');
    assert.equal(
      hex(hmacSha256DataHasher(keys.manifestHashKey).digest(plain)),
      '246f000c34963cfec41498c36e8ab165bc944be09374c6c6eaaccb7f4c421107',
    );
  });
});
