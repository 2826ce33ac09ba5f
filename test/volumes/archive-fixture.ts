// Shared set-up of the volume-command tests (no side effects at import): archives with a few
// imported volumes, every session's expected bytes, restores, and hashes of every archive file.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Archive } from '../../source-agent/archive/archive.js';
import type { RootKeys } from '../../source-agent/archive/keys.js';
import type { VolumeId } from '../../source-agent/archive/names.js';
import type { Store } from '../../source-agent/store/store.js';
import { restoreImages } from '../helpers/restore-all.js';
import { makeVolume, writeAt } from '../helpers/volumes.js';

/** Every file under `dir` with the sha256 of its bytes (directories end with "/"). */
export function hashTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        out.set(`${path}/`, '');
        walk(path);
      } else
        out.set(
          path,
          createHash('sha256')
            .update(readFileSync(join(dir, path)))
            .digest('hex'),
        );
    }
  };
  walk('');
  return out;
}

/** Three source images per test volume: a 2-session volume, a 1-session one, one in a subdirectory. */
export function writeSources(dir: string, chunkSize: number): { a1: string; a2: string; b: string; c: string } {
  const paths = { a1: join(dir, 'a1.img'), a2: join(dir, 'a2.img'), b: join(dir, 'b.img'), c: join(dir, 'c.img') };
  writeFileSync(paths.a1, makeVolume('volume-a', chunkSize, 9, 100));
  writeFileSync(paths.a2, makeVolume('volume-a', chunkSize, 9, 100));
  writeAt(paths.a2, chunkSize * 3, makeVolume('volume-a-changed', chunkSize, 1));
  writeFileSync(paths.b, makeVolume('volume-b', chunkSize, 6));
  writeFileSync(paths.c, makeVolume('volume-c', chunkSize, 3, 7));
  return paths;
}

export async function openArchive(store: Store, rootKeys: RootKeys | null): Promise<Archive> {
  return Archive.open(store, { passphrase: async () => Buffer.alloc(0), ...(rootKeys ? { rootKeys } : {}) });
}

/** Volume name → vid, read through the hash chain. */
export async function volumeNames(archive: Archive): Promise<Map<string, VolumeId>> {
  const names = new Map<string, VolumeId>();
  for (const vid of archive.ini.volumes.keys()) names.set((await archive.readVolInfo(vid)).name, vid);
  return names;
}

/** The bytes of every session of every volume: name → [session images, oldest first]. */
export const restoreAll = restoreImages;
