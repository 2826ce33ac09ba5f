// Shared by the arch-check tests: private copies of the Wyng fixtures, restoring a session to
// memory, and the files of a directory tree. Nothing runs at import time.

import { cpSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Archive } from '../../source-agent/archive/archive.js';
import type { RootKeys } from '../../source-agent/archive/keys.js';
import type { VolumeId } from '../../source-agent/archive/names.js';
import { planRestore, readChunks } from '../../source-agent/engine/restore/restore-stream.js';
import type { Store } from '../../source-agent/store/store.js';
import { FIXTURES, fixtureArchive, fixtureRootKeys } from '../helpers/paths.js';

export const PLAIN = { dir: 'plain-zlib-64k', passphrase: '', vid: 'Vol_8c7da2' as VolumeId, volume: 'vol2.img' };
/** vol2.img's sessions, oldest first, and the images they were sent from. */
export const PLAIN_SESSIONS = [
  ['S_20261128-153734', 'vol2.session1.img'],
  ['S_20261128-153738', 'vol2.session3.img'],
  ['S_20261128-153740', 'vol2.session4.img'],
] as const;
export const ENCRYPTED = { dir: 'enc-dgr-zstd-256k', passphrase: 'fixture-pass-1', volume: 'vol1.img' };
export const ENCRYPTED_IMAGES = ['vol1.session1.img', 'vol1.session2.img'] as const;

export function copyArchive(fixture: string, target: string): string {
  cpSync(fixtureArchive(fixture), target, { recursive: true });
  return target;
}

export function fixtureImage(fixture: string, image: string): Buffer {
  return readFileSync(join(FIXTURES, fixture, image));
}

/** Root keys by passphrase: the key derivation is slow and every copy of a fixture shares them. */
const rootKeys = new Map<string, RootKeys>();

export async function openArchive(store: Store, passphrase = ''): Promise<Archive> {
  const known = rootKeys.get(passphrase) ?? fixtureRootKeys(passphrase);
  const archive = await Archive.open(store, { passphrase: async () => Buffer.from(passphrase), ...(known ? { rootKeys: known } : {}) });
  if (archive.rootKeys) rootKeys.set(passphrase, archive.rootKeys);
  return archive;
}

/** The volume `name` as it was at its `index`-th session (oldest = 0). */
export async function restoreSession(archive: Archive, name: string, index: number): Promise<Buffer> {
  for (const vid of archive.ini.volumes.keys()) {
    const volume = await archive.loadVolume(vid);
    if (volume.name !== name) continue;
    const plan = await planRestore(archive, volume, index);
    const out = Buffer.alloc(plan.session.info.volsize);
    for await (const chunk of readChunks(archive, plan.chunks)) if (chunk.data) chunk.data.copy(out, chunk.address);
    return out;
  }
  throw new Error(`no volume ${name}`);
}

/** Every file and directory under `root`, as relative paths (directories end in "/"). */
export function treeOf(root: string): string[] {
  const paths: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const full = join(dir, entry);
      if (statSync(full).isDirectory()) {
        paths.push(`${relative(root, full)}/`);
        walk(full);
      } else {
        paths.push(relative(root, full));
      }
    }
  };
  walk(root);
  return paths.sort();
}
