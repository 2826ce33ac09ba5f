// What `--local` names, by one rule for every command (behavior spec §2.3): an existing directory
// is file storage (reflink-source.ts); anything else written like an LVM name is asked of LVM
// (lvm/lvm-pool.ts), so a missing `lvm` is reported as such rather than as a missing path;
// anything else is not there (offline). openLocalPool is the strict form send and monitor use (a
// directory must hold reflink snapshots); cli/local-storage.ts (clean-up commands) and
// engine/restore/receive-pool.ts (receive: plain file pools too) read the same classification.

import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LocalStorageError } from '../errors.js';
import { type LvmPool, looksLikeLvm, lvmAvailable, openLvmPool } from './lvm/lvm-pool.js';
import { openReflinkPool, type ReflinkPool } from './reflink-source.js';

export type LocalPool = { kind: 'reflink'; pool: ReflinkPool } | { kind: 'lvm'; pool: LvmPool };

/** How --local reads before anything is opened; `path` is the name made absolute. */
export type LocalKind = { kind: 'directory'; path: string } | { kind: 'lvm'; path: string } | { kind: 'missing'; path: string };

export async function classifyLocal(local: string, cwd: string): Promise<LocalKind> {
  const path = resolve(cwd, local);
  const isDirectory = await stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (isDirectory) return { kind: 'directory', path };
  return { kind: looksLikeLvm(local) ? 'lvm' : 'missing', path };
}

/** The LVM thin pool --local names (classified 'lvm'); a missing `lvm` is said so. */
export async function openNamedLvmPool(local: string, env: NodeJS.ProcessEnv): Promise<LvmPool> {
  if (!(await lvmAvailable(env)))
    throw new LocalStorageError(
      `Required command not found: lvm (--local=${local} is not a directory, so it names an LVM thin pool VG/POOL)`,
    );
  return openLvmPool(local, env);
}

export async function openLocalPool(
  local: string,
  options: { cwd: string; vouch: readonly string[]; env: NodeJS.ProcessEnv },
): Promise<LocalPool> {
  const classified = await classifyLocal(local, options.cwd);
  if (classified.kind === 'lvm') return { kind: 'lvm', pool: await openNamedLvmPool(local, options.env) };
  return { kind: 'reflink', pool: await openReflinkPool(classified.path, options.vouch) };
}
