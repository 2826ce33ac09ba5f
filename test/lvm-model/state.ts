// The state of the LVM thin-pool model: one JSON file in $SKIFF_LVM_MODEL_DIR, read and written
// under a lock by every stand-in command (Wyng runs up to 16 `lvremove`s at once).
//
// This models what the kernel's dm-thin target and LVM's metadata would hold — there is no
// device-mapper here. Per volume group: its LVs; a thin pool has a block size and a transaction
// id; a thin LV has its thin device id, size, tags, flags and its block mapping (virtual block →
// pool data block) kept as runs. Contents live in one sparse file per thin device
// (<dir>/<vg>/thin-<id>.img), shown as a loop device behind /dev/<vg>/<lv> while active.

import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PoolLv {
  kind: 'pool';
  uuid: string;
  /** Pool data size in bytes (the data LV, [pool_tdata]). */
  size: number;
  /** dm-thin block size in 512-byte sectors (`lvcreate --chunksize`). */
  dataBlockSize: number;
  nextThinId: number;
  transaction: number;
  /** A metadata snapshot is held (dmsetup message … reserve_metadata_snap). */
  metadataSnapHeld: boolean;
  tags: string[];
  time: number;
}

export interface ThinLv {
  kind: 'thin';
  uuid: string;
  pool: string;
  thinId: number;
  size: number;
  tags: string[];
  writable: boolean;
  active: boolean;
  /** lv_attr[9] 'k': skipped by plain activation (thin snapshots get it unless -kn). */
  skipActivation: boolean;
  origin: string;
  /** Creation time, Unix seconds (lv_time). */
  time: number;
  /** [virtual begin, data begin, length] runs, ascending by virtual block. */
  map: [number, number, number][];
  /** The loop device while active. */
  loop: string;
}

export type Lv = PoolLv | ThinLv;

export interface Vg {
  extentSize: number;
  lvs: Record<string, Lv>;
}

/** Something the model did that tests want to check afterwards (e.g. the snapshot was released). */
export interface ModelEvent {
  op: string;
  target: string;
  ok: boolean;
  detail?: string;
}

export interface ModelState {
  vgs: Record<string, Vg>;
  events: ModelEvent[];
}

export function modelDir(): string {
  const dir = process.env['SKIFF_LVM_MODEL_DIR'];
  if (!dir) throw new ModelError('SKIFF_LVM_MODEL_DIR is not set (the LVM model needs a state directory)', 5);
  return dir;
}

/** A failure the stand-in reports like LVM does: a message on stderr and an exit status. */
export class ModelError extends Error {
  readonly status: number;
  constructor(message: string, status = 5) {
    super(message);
    this.status = status;
  }
}

export function thinFile(dir: string, vg: string, thinId: number): string {
  return join(dir, vg, `thin-${thinId}.img`);
}

export function metadataFile(dir: string, vg: string, pool: string): string {
  return join(dir, vg, `${pool}.tmeta`);
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Runs `fn` on the state under an exclusive lock and saves what it leaves (also after a throw: the
 *  stand-ins change devices as they go, so a half-done command must still be recorded). */
export function withState<T>(dir: string, fn: (state: ModelState) => T): T {
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, 'state.lock');
  for (let tries = 0; ; tries++) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (tries > 1500) throw new ModelError(`LVM model state locked for 30 s: ${lock}`);
      breakStaleLock(lock);
      Atomics.wait(sleeper, 0, 0, 20);
    }
  }
  const file = join(dir, 'state.json');
  const state: ModelState = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ModelState) : { vgs: {}, events: [] };
  try {
    return fn(state);
  } finally {
    writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 1)}\n`);
    renameSync(`${file}.tmp`, file);
    rmSync(lock, { recursive: true, force: true });
  }
}

function breakStaleLock(lock: string): void {
  try {
    const pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
    if (pid > 0) process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') rmSync(lock, { recursive: true, force: true });
  }
}

export function readState(dir: string): ModelState {
  const file = join(dir, 'state.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ModelState) : { vgs: {}, events: [] };
}

/** Device-mapper names double every '-' inside the VG and LV names: vg "a-b", lv "c" → "a--b-c". */
export function dmName(vg: string, lv: string, suffix = ''): string {
  return `${vg.replaceAll('-', '--')}-${lv.replaceAll('-', '--')}${suffix}`;
}

/** The inverse: splits a dm name at its one single '-' into [vg, rest]; null when ambiguous. */
export function splitDmName(name: string): [string, string] | null {
  const parts = name.split(/(?<!-)-(?!-)/);
  if (parts.length !== 2) return null;
  return [(parts[0] as string).replaceAll('--', '-'), (parts[1] as string).replaceAll('--', '-')];
}

/** "VG/LV", "/dev/VG/LV" or "/dev/mapper/VG-LV" → [vg, lv]. Like LVM, repeated slashes count as
 *  one (Wyng passes "/dev/VG//LV"). */
export function splitLvPath(path: string): [string, string] {
  const clean = path.replace(/\/+/g, '/');
  const dm = clean.startsWith('/dev/mapper/') ? splitDmName(clean.slice(12)) : null;
  if (dm) return dm;
  const parts = (clean.startsWith('/dev/') ? clean.slice(5) : clean).split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1]) throw new ModelError(`"${path}": Invalid path for Logical Volume.`, 3);
  return [parts[0], parts[1]];
}
