// Wyng's scrypt (N=2^19, r=8, p=1, 32 bytes; spec §4.3) of the passphrases the tests give new
// archives (through the CLI, or through the engine in the test process: useKdfMemoHere), with
// the two fixed scrypt salts that archives made under the test memo take (kdf-memo.ts,
// testScryptSalts). cli.ts enters them in every test process's memo, so that no encrypted
// arch-init in a test that is not about the key derivation pays its seconds of scrypt.
// Computed once with node:crypto's scrypt; to add a passphrase, compute its two keys the same
// way (scrypt(passphrase, TEST_SCRYPT_SALTS[i], 32, { N: 2 ** 19, r: 8, p: 1 })). An entry
// that is missing costs only time: the run derives the keys itself and remembers them.

import { createHash } from 'node:crypto';

/** The data and metadata scrypt salts of new archives in the tests: SHA-512 of a label each. */
export const TEST_SCRYPT_SALTS: readonly [Buffer, Buffer] = [
  createHash('sha512').update('skiff test scrypt salt 0').digest(),
  createHash('sha512').update('skiff test scrypt salt 1').digest(),
];

/** [passphrase, scrypt with salt 0 (data key), scrypt with salt 1 (metadata key)], hex. */
export const TEST_PASSPHRASE_KEYS: readonly (readonly [string, string, string])[] = [
  [
    'system-test-passphrase',
    '9ad50b9a5865742d6cd9881f0e3a8a34842e6833b1bf35716b903cd08f9e1a42',
    '2786a139c3306ea95d6169e240974c5c4d1fcc3f0a99739dff7925741bd6499b',
  ],
  [
    'downgrade-test-passphrase',
    '2f4e84cd2162f62f8d375d254e0f86b6eff547ac91d1465d746e514c157f415e',
    'e52338a3844c1285460885dc3a287956f9a1a6e7db782df436d99c23612ce0d2',
  ],
  [
    'dedup-cli-passphrase',
    '303537180ea681dba90bd4ed43a2d99e23c88feae182e21bd33c7c331ceec0ee',
    '1d4405599c8b0f98638dc3b750228fcb15e1b8c741a3b59f291dff546597546d',
  ],
  [
    'hostile-passphrase',
    '479190c88098831862c45a47d1c40811cc1fd3e58eec63819cb0a4127984a93b',
    '1f772b91d4538fdd9900cd13bd7c570d1296067fa2b83e8961f1f89a55c49d00',
  ],
  [
    'import-test-passphrase',
    '59ee79c78feed8c4d01f05896cb0ddf5fc1e9e749ce423918d97ba3bf419de0b',
    '0daa7420e532c975d8761b6d69aaabdb63547fd6176dc272bb14c8788db4da90',
  ],
  [
    'remote-test-passphrase',
    '406f5bda278255dd85cb2d0a3b6c8c8f5e517bce58f55b31acb7eb19849628c9',
    'fd3cc50eb171ef9ba294a825ee2be2ee1ada7efe253127ca140d6d4157522616',
  ],
  [
    'dedup-test-passphrase',
    '82117b8f7e1b18e70759e1f6010baf596a20bac1c3234c003a9a13b4f322f707',
    '87fb9da6974b96ca42859318245fdec0e06dbdcd12be3fb74b4c08b6ecc0b27b',
  ],
  [
    'volume-fault-passphrase',
    'a05096e5f90b0bf9970f2a5d932ea844b5cce71c8a5224ae4443119ab3987276',
    'c67ac1ddea0447eede74117d6ca0a75736b66c99af60b82ae184500322b9f97d',
  ],
  [
    'clock',
    'b74419421e068bfa2274d44cc92268c7dc3fd20a1dc7a88b0a0e3905ec3466f2',
    'db79897d28cf4c412c6158c45b2dd6ed846e8ca5b34ac0d2b16c9475b2dc0ea8',
  ],
  [
    'merge-test-passphrase',
    'd3ea3713a323c72b8b331f14cd4a89674e03c4d16532605c19c41d3f5c0d04e2',
    'ae052da3f8524a1fc3007c9ef9f9ffc84ccf41b2db113ffaad481d1a18b4f4f4',
  ],
];
