// What --local names for the commands that only tidy snapshots (delete, arch-check --clean): an
// existing directory (reflink snapshots next to the volumes) or an LVM thin pool VG/POOL (thin
// snapshots in its VG). A directory of that name wins, as a relative path is what the user
// most likely meant; a VG/POOL that LVM knows but cannot be used (a VG without a pool, a thin
// volume, a missing tool) is an error, not a silent "no snapshots removed".

import { resolve } from 'node:path';
import { onlineLocal } from '../engine/volumes/local-snapshots.js';
import { LocalStorageError } from '../errors.js';
import { type LvmPool, looksLikeLvm, lvmAvailable, openLvmPool } from '../source/lvm/lvm-pool.js';

export type LocalStorage = { kind: 'directory'; path: string } | { kind: 'lvm'; pool: LvmPool };

/** --local as an online storage, or null (not given, or neither a directory nor an LVM name). */
export async function openLocalStorage(local: string | undefined, cwd: string, env: NodeJS.ProcessEnv): Promise<LocalStorage | null> {
  if (local === undefined || local === '') return null;
  const path = await onlineLocal(resolve(cwd, local));
  if (path) return { kind: 'directory', path };
  if (!looksLikeLvm(local) || !(await lvmAvailable(env))) return null;
  try {
    return { kind: 'lvm', pool: await openLvmPool(local, env) };
  } catch (error) {
    // No such VG either: --local is simply not there (offline), as for a missing directory.
    if (error instanceof LocalStorageError && error.message.startsWith('Local path not found')) return null;
    throw error;
  }
}

/** How the storage is named in messages. */
export function localLabel(storage: LocalStorage): string {
  return storage.kind === 'directory' ? storage.path : `${storage.pool.vg}/${storage.pool.pool}`;
}
