// What `--local` names, for every command that takes it (behavior spec §2.3): a directory of
// volume files (reflink-source.ts; delete and arch-check only tidy snapshots in it), or an LVM
// thin pool written VG/POOL (lvm/lvm-pool.ts). An existing directory always wins, as a relative
// path is what the user most likely meant; anything else written like an LVM name is asked of
// LVM, so a missing `lvm` is reported as such rather than as a missing path. One classifier with
// one option for the two needs:
//   missing: 'error'    send, monitor, receive: the storage must be there (openLocalPool);
//   missing: 'offline'  delete, arch-check: a missing directory, VG or `lvm` means "offline",
//                       nothing to tidy (openLocalStorage); a VG/POOL that LVM knows but cannot
//                       be used (no pool, a thin volume, a missing tool) is still an error, not a
//                       silent "no snapshots removed".

import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LocalStorageError } from '../errors.js';
import { type LvmPool, looksLikeLvm, lvmAvailable, openLvmPool } from './lvm/lvm-pool.js';
import { openReflinkPool, type ReflinkPool } from './reflink-source.js';

export type LocalPool = { kind: 'reflink'; pool: ReflinkPool } | { kind: 'lvm'; pool: LvmPool };

/** --local as found: an existing directory (not yet checked for snapshots) or a thin pool. */
export type LocalStorage = { kind: 'directory'; path: string } | { kind: 'lvm'; pool: LvmPool };

export interface ClassifyLocalOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** 'error': a missing `lvm` or VG is an error; 'offline': it makes --local offline (null). */
  missing: 'error' | 'offline';
}

/**
 * What `local` names, or null when it is not online (no such directory, not an LVM name, and with
 * `missing: 'offline'` also no `lvm` or no such VG). Errors are LocalStorageError (exit 7).
 */
export async function classifyLocal(local: string, options: ClassifyLocalOptions): Promise<LocalStorage | null> {
  const path = resolve(options.cwd, local);
  const isDirectory = await stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (isDirectory) return { kind: 'directory', path };
  if (!looksLikeLvm(local)) return null;
  if (!(await lvmAvailable(options.env))) {
    if (options.missing === 'offline') return null;
    throw new LocalStorageError(
      `Required command not found: lvm (--local=${local} is not a directory, so it names an LVM thin pool VG/POOL)`,
    );
  }
  try {
    return { kind: 'lvm', pool: await openLvmPool(local, options.env) };
  } catch (error) {
    // No such VG either: --local is simply not there (offline), as for a missing directory.
    if (options.missing === 'offline' && error instanceof LocalStorageError && error.message.startsWith('Local path not found'))
      return null;
    throw error;
  }
}

/** --local for send, monitor and receive: a reflink pool or a thin pool, else an error. */
export async function openLocalPool(
  local: string,
  options: { cwd: string; vouch: readonly string[]; env: NodeJS.ProcessEnv },
): Promise<LocalPool> {
  const found = await classifyLocal(local, { cwd: options.cwd, env: options.env, missing: 'error' });
  if (found?.kind === 'lvm') return found;
  // A directory, or nothing: the reflink checks say which ("Local path not found: …").
  return { kind: 'reflink', pool: await openReflinkPool(resolve(options.cwd, local), options.vouch) };
}

/** --local for delete and arch-check --clean: online storage, or null (not given, or offline). */
export async function openLocalStorage(local: string | undefined, cwd: string, env: NodeJS.ProcessEnv): Promise<LocalStorage | null> {
  if (local === undefined || local === '') return null;
  return classifyLocal(local, { cwd, env, missing: 'offline' });
}

/** How the storage is named in messages. */
export function localLabel(storage: LocalStorage): string {
  return storage.kind === 'directory' ? storage.path : `${storage.pool.vg}/${storage.pool.pool}`;
}
