// Where the tests find the project's files, from dist/test/helpers/ or test/helpers/.

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('project root not found');
    dir = parent;
  }
  return dir;
}

export const PROJECT_ROOT = findRoot();
export const FIXTURES = resolve(PROJECT_ROOT, 'test/fixtures/wyng-v3');
export const CLI = resolve(PROJECT_ROOT, 'dist/source-agent/main.js');

/**
 * The Wyng-made fixture archives, their passphrases, and the images of their sessions. rootKeys:
 * scrypt of the passphrase with the fixture's salts (Wyng's parameters), so that tests that are
 * not about the key derivation skip its seconds. A wrong entry gives no false pass: it does not
 * decrypt the fixture (Archive.open then derives from the passphrase; a CLI run fails), and
 * source-agent/archive/known-answers.test.ts derives the first one for real.
 */
export const WYNG_FIXTURES = [
  {
    dir: 'enc-dgr-zstd-256k',
    passphrase: 'fixture-pass-1',
    rootKeys: {
      dataKey: '1fe37ada42d69166e64e30db8c62cf0fe8b15dd0e680b8dc3c8bac959317e464',
      metadataKey: 'd2846de47075aa1cd2c52262f082e1c765bb372bf5d8f81744847dd1efaa8788',
    },
    volumes: { 'vol1.img': ['vol1.session1.img', 'vol1.session2.img'] },
  },
  {
    dir: 'enc-msr-bz2-128k',
    passphrase: 'fixture-pass-3',
    rootKeys: {
      dataKey: '9c0a01589e8f2d5343079ef9244143eef37577bbe97b314618d3b5232aef6263',
      metadataKey: '02615d8435971699213468a06f338a49dea53e487a0170ad318c0111cc18dce6',
    },
    volumes: { 'sub/dir/vol3.img': ['vol3.session1.img'] },
  },
  {
    dir: 'enc-ct-zstd7-64k',
    passphrase: 'fixture-pass-4',
    rootKeys: {
      dataKey: 'b444c0dd76d93675d1b80c075e54c41888158332d020347ee6517822116d12be',
      metadataKey: '0ec7ed06aaad1c43122543b647371bd804b849b8818d71cccd15be285b1f84bc',
    },
    volumes: { 'vol4.img': ['vol4.session1.img', 'vol4.session2.img'] },
  },
  {
    dir: 'plain-zlib-64k',
    passphrase: null,
    rootKeys: null,
    // vol2's second session (vol2.session2.img) was pruned into the third.
    volumes: {
      'vol2.img': ['vol2.session1.img', 'vol2.session3.img', 'vol2.session4.img'],
      'dup.img': ['vol2.session3.img'],
      'empty.img': [null],
      'newvol.img': [],
    },
  },
] as const satisfies readonly {
  dir: string;
  passphrase: string | null;
  rootKeys: { dataKey: string; metadataKey: string } | null;
  volumes: Record<string, readonly (string | null)[]>;
}[];

export function fixtureArchive(dir: string): string {
  return join(FIXTURES, dir, 'archive');
}

/** The known root keys of the Wyng fixture with this passphrase, if any (see WYNG_FIXTURES). */
export function fixtureRootKeys(passphrase: string): { dataKey: Buffer; metadataKey: Buffer } | null {
  const fixture = WYNG_FIXTURES.find((f) => f.passphrase === passphrase);
  if (!fixture?.rootKeys) return null;
  return { dataKey: Buffer.from(fixture.rootKeys.dataKey, 'hex'), metadataKey: Buffer.from(fixture.rootKeys.metadataKey, 'hex') };
}
