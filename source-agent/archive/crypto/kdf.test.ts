import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hkdfSha512Halves, scryptKey } from './kdf.js';

const K = Buffer.from([...Array(32).keys()]);
const SALT = Buffer.alloc(64, 0x5a);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('key derivation (format spec §18.5)', () => {
  it('scrypt N=2^19 r=8 p=1 of "password1234" with a zero salt', async () => {
    const key = await scryptKey(Buffer.from('password1234'), Buffer.alloc(64));
    assert.equal(hex(key), 'e32ec99cdc7b416f94c99f2159caacebd17faa6122fd780ddd79588094a83123');
  });
  it('HKDF-SHA512 first halves for the nonce keys', async () => {
    const [nk0] = await hkdfSha512Halves(K, SALT, 'Wyng_Nonces0');
    const [nk1] = await hkdfSha512Halves(K, SALT, 'Wyng_Nonces1');
    assert.equal(
      hex(nk0),
      'eadbba79107efa896a97451e180ef83fa8141e40f8f77fc154790a04374991ec2e72d63a7076594b0f1dda7e1b82f3266eb6292ebad67314a793e4d815989e51',
    );
    assert.equal(
      hex(nk1),
      'f7befcbe589fc1731c6a94ceee0054307124776a2fe792808e7a6704497f5566f74a413e7a3e342526ac2eb3d5709426175f41007565b5c68f37f5a2aa915f3b',
    );
  });
  it('HKDF-SHA512 second half for the manifest-hash key', async () => {
    const [, mk0] = await hkdfSha512Halves(K, SALT, 'Wyng-Manifest-Hash0');
    assert.equal(
      hex(mk0),
      '1ccf7dbd32b724db80cac772630699e630582e4e6edc70204409dfaee98ee8959f197e54b1ee4aa5728a247af9ee9ded57ef36dc0e564b6e77818d9af023a467',
    );
  });
});
