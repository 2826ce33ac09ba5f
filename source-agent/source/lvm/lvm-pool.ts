// `--local=VG/POOL`: an LVM thin pool as a snapshot pool, classified as Wyng does (behavior spec
// §2.3): `lvm vgdisplay` for the VG, `lvm lvs` attributes for the pool (type 't', no pool of its
// own). The tools a send needs (lvm, dmsetup, thin_delta) are found on PATH first, so a missing
// one is a single clear error before anything is touched. Every refusal is a LocalStorageError
// (exit 7): the local storage cannot be used as given.

import { LocalStorageError } from '../../errors.js';
import { findOnPath } from '../../sys/exec.js';
import { findLvmTools, LVM_NAME, Lvm } from './lvm-commands.js';

export interface LvmPool {
  readonly vg: string;
  readonly pool: string;
  readonly lvm: Lvm;
}

/** Whether --local is written like an LVM VG or VG/POOL (and not like a path). */
export function looksLikeLvm(local: string): boolean {
  const parts = local.split('/');
  return parts.length <= 2 && parts.every((p) => LVM_NAME.test(p) && p !== '.' && p !== '..');
}

/** Whether `lvm` is on PATH (without it, --local can only be a directory). */
export async function lvmAvailable(env: NodeJS.ProcessEnv): Promise<boolean> {
  return (await findOnPath('lvm', env)) !== null;
}

export async function openLvmPool(local: string, env: NodeJS.ProcessEnv): Promise<LvmPool> {
  const lvm = new Lvm(await findLvmTools(env));
  const [vg = '', pool] = local.split('/');
  if (!(await lvm.vgExists(vg))) throw new LocalStorageError(`Local path not found: '${local}' (no volume group '${vg}')`);
  if (pool === undefined || pool === '')
    throw new LocalStorageError(`--local=${local} is a volume group; give its thin pool as --local=${vg}/POOL.`);
  const rows = await lvm.lvs([vg]);
  const row = rows.find((r) => r.name === pool);
  if (!row) throw new LocalStorageError(`Thin pool '${vg}/${pool}' not found.`);
  if (row.attr[0] === 'V') {
    throw new LocalStorageError(`'${vg}/${pool}' is a thin volume, not a thin pool${row.pool ? `; use --local=${vg}/${row.pool}` : ''}.`);
  }
  if (row.attr[0] !== 't' || row.pool !== '') throw new LocalStorageError(`'${vg}/${pool}' is not a thin pool (lv_attr ${row.attr}).`);
  return { vg, pool, lvm };
}

/**
 * Releases a metadata snapshot a killed run left reserved (Wyng does this at start-up too): a
 * held reservation would make our own reserve fail with EBUSY. Returns whether one was released.
 */
export async function releaseStaleReservation(pool: LvmPool): Promise<boolean> {
  if (!(await pool.lvm.metadataSnapHeld(pool.vg, pool.pool))) return false;
  await pool.lvm.releaseMetadataSnap(pool.vg, pool.pool);
  return true;
}
