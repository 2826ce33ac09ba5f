// What `--local` names: a directory of volume files on a reflink file system (reflink-source.ts),
// or an LVM thin pool written VG/POOL (lvm/lvm-pool.ts). An existing directory is always file
// storage; anything else written like an LVM name is asked of LVM (behavior spec §2.3), so a
// missing `lvm` is reported as such rather than as a missing path.

import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LocalStorageError } from '../errors.js';
import { type LvmPool, looksLikeLvm, lvmAvailable, openLvmPool } from './lvm/lvm-pool.js';
import { openReflinkPool, type ReflinkPool } from './reflink-source.js';

export type LocalPool = { kind: 'reflink'; pool: ReflinkPool } | { kind: 'lvm'; pool: LvmPool };

export async function openLocalPool(
  local: string,
  options: { cwd: string; vouch: readonly string[]; env: NodeJS.ProcessEnv },
): Promise<LocalPool> {
  const path = resolve(options.cwd, local);
  const isDirectory = await stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDirectory && looksLikeLvm(local)) {
    if (!(await lvmAvailable(options.env)))
      throw new LocalStorageError(
        `Required command not found: lvm (--local=${local} is not a directory, so it names an LVM thin pool VG/POOL)`,
      );
    return { kind: 'lvm', pool: await openLvmPool(local, options.env) };
  }
  return { kind: 'reflink', pool: await openReflinkPool(path, options.vouch) };
}
