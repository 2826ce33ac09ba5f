// What `receive --local` (without --save-to) writes into (behavior spec §2.3, §5.2): an LVM thin
// pool VG/POOL (the LV of the volume's name), or a directory, where the volume is the file
// `<local>/<name>` (names may hold subdirectories, made as needed). A directory that can hold
// reflink snapshots (a Btrfs subvolume, or a file system vouched for with --vouch, as send
// classifies it) is a reflink pool: the volume can be served from its paired snapshot
// (--use-snapshot) and is paired again after a receive of its newest session. Any other
// directory is a plain file pool: files are written, nothing is snapshotted.

import { lstat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LocalStorageError } from '../../errors.js';
import { classifyLocal } from '../../source/local-pool.js';
import type { LvmPool } from '../../source/lvm/lvm-pool.js';
import { openReflinkPool, type ReflinkPool } from '../../source/reflink-source.js';

export type ReceivePool =
  | { kind: 'lvm'; pool: LvmPool }
  | { kind: 'reflink'; pool: ReflinkPool; path: string }
  | { kind: 'file'; path: string };

export async function openReceivePool(
  local: string,
  options: { cwd: string; vouch: readonly string[]; env: NodeJS.ProcessEnv },
): Promise<ReceivePool> {
  const classified = await classifyLocal(local, { cwd: options.cwd, env: options.env, missing: 'error' });
  if (classified === null) {
    const path = resolve(options.cwd, local);
    // Wyng says "Local storage is offline" for both; Skiff names what is wrong.
    const exists = await lstat(path).then(
      () => true,
      () => false,
    );
    throw new LocalStorageError(exists ? `Local path is not a directory: '${path}'` : `Local path not found: '${path}'`);
  }
  if (classified.kind === 'lvm') return classified;
  const { path } = classified;
  try {
    return { kind: 'reflink', pool: await openReflinkPool(path, options.vouch), path };
  } catch (error) {
    // Not a subvolume, not vouched for, or read-only (the reflink probe cannot write): files only.
    if (error instanceof LocalStorageError) return { kind: 'file', path };
    throw error;
  }
}
