// What the kernel's dm-thin target does, modelled: thin devices share pool data blocks; a
// snapshot copies its origin's mapping (sharing every block); a write to a shared block allocates
// a new data block (copy-on-write) while a write to an exclusively owned block stays in place; a
// discard or a shrink unmaps blocks. Contents are kept next to the mapping in one sparse file per
// thin device (attached as a loop device while active), so reading /dev/VG/LV gives the data.
//
// Only writes made through modelWrite/modelDiscard (the `lvm-model` command) move the mapping.
// Writes straight to /dev/VG/LV (e.g. a receive) change the contents but not the mapping, unlike
// the kernel — harmless for delta tests, which write through the model between two snapshots.

import { execFileSync } from 'node:child_process';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  rmSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { ModelError, type ModelState, metadataFile, type PoolLv, type ThinLv, thinFile, type Vg } from './state.js';

export const SECTOR = 512;

export function blockBytes(pool: PoolLv): number {
  return pool.dataBlockSize * SECTOR;
}

export function findVg(state: ModelState, vg: string): Vg {
  const found = state.vgs[vg];
  if (!found) throw new ModelError(`Volume group "${vg}" not found`);
  return found;
}

export function findThin(state: ModelState, vg: string, lv: string): ThinLv {
  const found = findVg(state, vg).lvs[lv];
  if (found?.kind !== 'thin') throw new ModelError(`Failed to find logical volume "${vg}/${lv}"`);
  return found;
}

export function findPool(state: ModelState, vg: string, pool: string): PoolLv {
  const found = findVg(state, vg).lvs[pool];
  if (found?.kind !== 'pool') throw new ModelError(`Thin pool ${vg}/${pool} not found`);
  return found;
}

/** The mapping as a Map (virtual → data block). */
export function mappingOf(lv: ThinLv): Map<number, number> {
  const map = new Map<number, number>();
  for (const [v, d, n] of lv.map) for (let i = 0; i < n; i++) map.set(v + i, d + i);
  return map;
}

export function setMapping(lv: ThinLv, map: Map<number, number>): void {
  const runs: [number, number, number][] = [];
  for (const v of [...map.keys()].sort((a, b) => a - b)) {
    const d = map.get(v) as number;
    const last = runs[runs.length - 1];
    if (last && last[0] + last[2] === v && last[1] + last[2] === d) last[2]++;
    else runs.push([v, d, 1]);
  }
  lv.map = runs;
}

function thinsOf(vg: Vg, pool: string): ThinLv[] {
  return Object.values(vg.lvs).filter((lv): lv is ThinLv => lv.kind === 'thin' && lv.pool === pool);
}

/** How many thin devices map each data block of the pool. */
export function refCounts(vg: Vg, pool: string): Map<number, number> {
  const counts = new Map<number, number>();
  for (const lv of thinsOf(vg, pool))
    for (const [, d, n] of lv.map) for (let i = 0; i < n; i++) counts.set(d + i, (counts.get(d + i) ?? 0) + 1);
  return counts;
}

export function sizeInBlocks(pool: PoolLv, size: number): number {
  return Math.ceil(size / blockBytes(pool));
}

/** Applies writes of [offset, offset+length) to the mapping: unmapped and shared blocks get new
 *  data blocks (the lowest free ones), exclusively owned blocks stay. One pass for all writes. */
export function allocateForWrites(
  state: ModelState,
  vgName: string,
  lvName: string,
  writes: readonly { offset: number; length: number }[],
): void {
  const vg = findVg(state, vgName);
  const lv = findThin(state, vgName, lvName);
  const pool = findPool(state, vgName, lv.pool);
  if (!lv.writable) throw new ModelError(`${vgName}/${lvName} is read-only`);
  const counts = refCounts(vg, lv.pool);
  const map = mappingOf(lv);
  const bb = blockBytes(pool);
  const nrBlocks = Math.floor(pool.size / bb);
  let next = 0;
  for (const { offset, length } of writes) {
    if (offset < 0 || length < 0 || offset + length > lv.size) throw new ModelError(`write beyond the end of ${vgName}/${lvName}`);
    if (length === 0) continue;
    for (let v = Math.floor(offset / bb); v <= Math.floor((offset + length - 1) / bb); v++) {
      const d = map.get(v);
      if (d !== undefined && counts.get(d) === 1) continue; // exclusively owned: overwritten in place
      while (counts.has(next)) next++;
      if (next >= nrBlocks) throw new ModelError(`thin pool ${vgName}/${lv.pool} is out of data space`);
      if (d !== undefined) counts.set(d, (counts.get(d) as number) - 1);
      counts.set(next, 1);
      map.set(v, next);
    }
  }
  setMapping(lv, map);
}

/** Unmaps the blocks wholly inside [offset, offset+length) and every block at or past `size`. */
export function unmap(pool: PoolLv, lv: ThinLv, offset: number, length: number): void {
  const bb = blockBytes(pool);
  const first = Math.ceil(offset / bb);
  const end = Math.floor((offset + length) / bb);
  const map = mappingOf(lv);
  for (const v of [...map.keys()]) if ((v >= first && v < end) || v * bb >= lv.size) map.delete(v);
  setMapping(lv, map);
}

/** The file or device that holds an LV's bytes right now. */
export function contentPath(dir: string, vg: string, lv: ThinLv): string {
  return lv.active && lv.loop ? lv.loop : thinFile(dir, vg, lv.thinId);
}

/** Writes bytes at their offsets of the LV's contents and makes them durable. */
export function writeContents(path: string, writes: readonly { offset: number; data: Uint8Array }[]): void {
  const fd = openSync(path, 'r+');
  try {
    for (const { offset, data } of writes) {
      for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done, offset + done);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

// ---- devices: a loop device per active thin LV, /dev/VG/LV pointing at it (needs root) ----

export function devPath(vg: string, lv: string): string {
  return join('/dev', vg, lv);
}

export function activate(dir: string, vg: string, name: string, lv: ThinLv): void {
  if (lv.active && lv.loop) return;
  const args = ['--show', '-f', ...(lv.writable ? [] : ['-r']), thinFile(dir, vg, lv.thinId)];
  lv.loop = execFileSync('losetup', args, { encoding: 'utf8' }).trim();
  lv.active = true;
  link(vg, name, lv.loop);
}

export function deactivate(vg: string, name: string, lv: ThinLv): void {
  if (lv.loop) execFileSync('losetup', ['-d', lv.loop]);
  lv.loop = '';
  lv.active = false;
  rmSync(devPath(vg, name), { force: true });
}

export function link(vg: string, name: string, target: string): void {
  const path = devPath(vg, name);
  mkdirSync(dirname(path), { recursive: true });
  rmSync(path, { force: true });
  symlinkSync(target, path);
}

export function unlinkDev(vg: string, name: string): void {
  try {
    unlinkSync(devPath(vg, name));
  } catch {
    // already gone
  }
}

/** A new size for an LV's contents: the file, and the loop device's idea of its capacity. */
export function resizeContents(dir: string, vg: string, lv: ThinLv): void {
  truncateSync(thinFile(dir, vg, lv.thinId), lv.size);
  if (lv.active && lv.loop) execFileSync('losetup', ['-c', lv.loop]);
}

/** A read-only loop device for a read-only LV (and back): re-attach, since losetup -r is fixed at attach. */
export function applyPermission(dir: string, vg: string, name: string, lv: ThinLv): void {
  if (!lv.active || !lv.loop) return;
  deactivate(vg, name, lv);
  activate(dir, vg, name, lv);
}

// ---- metadata: the pool's mappings as thin_dump XML, made binary by the real thin_restore ----

export function metadataXml(vg: Vg, poolName: string, pool: PoolLv): string {
  const nrBlocks = Math.floor(pool.size / blockBytes(pool));
  const lines = [
    `<superblock uuid="" time="0" transaction="${pool.transaction}" version="2" data_block_size="${pool.dataBlockSize}" nr_data_blocks="${nrBlocks}">`,
  ];
  for (const lv of thinsOf(vg, poolName).sort((a, b) => a.thinId - b.thinId)) {
    const mapped = lv.map.reduce((n, run) => n + run[2], 0);
    lines.push(`  <device dev_id="${lv.thinId}" mapped_blocks="${mapped}" transaction="0" creation_time="0" snap_time="0">`);
    for (const [v, d, n] of lv.map) {
      lines.push(
        n === 1
          ? `    <single_mapping origin_block="${v}" data_block="${d}" time="0"/>`
          : `    <range_mapping origin_begin="${v}" data_begin="${d}" length="${n}" time="0"/>`,
      );
    }
    lines.push('  </device>');
  }
  lines.push('</superblock>', '');
  return lines.join('\n');
}

/** reserve_metadata_snap: freeze the current mappings into binary metadata thin_delta can read. */
export function buildMetadata(dir: string, vgName: string, vg: Vg, poolName: string, pool: PoolLv): void {
  const xml = `${metadataFile(dir, vgName, poolName)}.xml`;
  const meta = metadataFile(dir, vgName, poolName);
  writeFileSync(xml, metadataXml(vg, poolName, pool));
  const mappings = thinsOf(vg, poolName).reduce((n, lv) => n + lv.map.length, 0);
  rmSync(meta, { force: true });
  writeFileSync(meta, '');
  truncateSync(meta, 16 * 1024 * 1024 + mappings * 256);
  execFileSync(process.env['SKIFF_REAL_THIN_RESTORE'] ?? '/usr/sbin/thin_restore', ['-q', '-i', xml, '-o', meta], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}
