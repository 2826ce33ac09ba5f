// What --local names for the commands that only tidy snapshots (delete, arch-check --clean): an
// existing directory (reflink snapshots next to the volumes) or an LVM thin pool VG/POOL (thin
// snapshots in its VG), classified as every command does (source/local-pool.ts). A directory of
// that name wins, as a relative path is what the user most likely meant; a VG/POOL that LVM
// knows but cannot be used (a VG without a pool, a thin volume) is an error, not a silent "no
// snapshots removed". Unlike send, storage that is not there (no directory, no `lvm`, no such
// VG) is simply offline: null.

import { LocalStorageError } from '../errors.js';
import { classifyLocal } from '../source/local-pool.js';
import { type LvmPool, lvmAvailable, openLvmPool } from '../source/lvm/lvm-pool.js';

export type LocalStorage = { kind: 'directory'; path: string } | { kind: 'lvm'; pool: LvmPool };

/** --local as an online storage, or null (not given, or neither a directory nor an LVM name). */
export async function openLocalStorage(local: string | undefined, cwd: string, env: NodeJS.ProcessEnv): Promise<LocalStorage | null> {
  if (local === undefined || local === '') return null;
  const classified = await classifyLocal(local, cwd);
  if (classified.kind === 'directory') return { kind: 'directory', path: classified.path };
  if (classified.kind === 'missing' || !(await lvmAvailable(env))) return null;
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
