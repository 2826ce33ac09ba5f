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

/** The Wyng-made fixture archives, their passphrases, and the images of their sessions. */
export const WYNG_FIXTURES = [
  {
    dir: 'enc-dgr-zstd-256k',
    passphrase: 'fixture-pass-1',
    volumes: { 'vol1.img': ['vol1.session1.img', 'vol1.session2.img'] },
  },
  {
    dir: 'enc-msr-bz2-128k',
    passphrase: 'fixture-pass-3',
    volumes: { 'sub/dir/vol3.img': ['vol3.session1.img'] },
  },
  {
    dir: 'enc-ct-zstd7-64k',
    passphrase: 'fixture-pass-4',
    volumes: { 'vol4.img': ['vol4.session1.img', 'vol4.session2.img'] },
  },
  {
    dir: 'plain-zlib-64k',
    passphrase: null,
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
  volumes: Record<string, readonly (string | null)[]>;
}[];

export function fixtureArchive(dir: string): string {
  return join(FIXTURES, dir, 'archive');
}
