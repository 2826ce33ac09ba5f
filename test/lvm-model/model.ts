// The model's API for tests (and the `lvm-model` command): writes and discards that move the
// block mapping the way dm-thin would, and teardown of the devices the model created.

import { rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { allocateForWrites, contentPath, deactivate, findPool, findThin, unmap, writeContents } from './pool.js';
import { splitLvPath, withState } from './state.js';

/** Writes `data` at byte `offset` of VG/LV: unmapped or shared blocks get new data blocks. */
export function modelWrite(dir: string, lvPath: string, offset: number, data: Uint8Array): void {
  modelWriteMany(dir, lvPath, [{ offset, data }]);
}

/** Many writes under one lock and one state load (for scattered changes to big volumes). */
export function modelWriteMany(dir: string, lvPath: string, writes: readonly { offset: number; data: Uint8Array }[]): void {
  const [vg, lv] = splitLvPath(lvPath);
  withState(dir, (state) => {
    allocateForWrites(
      state,
      vg,
      lv,
      writes.map((w) => ({ offset: w.offset, length: w.data.length })),
    );
    writeContents(contentPath(dir, vg, findThin(state, vg, lv)), writes);
  });
}

/** Discards [offset, offset+length): whole blocks inside are unmapped; the bytes read as zeros. */
export function modelDiscard(dir: string, lvPath: string, offset: number, length: number): void {
  const [vg, name] = splitLvPath(lvPath);
  withState(dir, (state) => {
    const lv = findThin(state, vg, name);
    if (offset < 0 || length < 0 || offset + length > lv.size) throw new Error(`discard beyond the end of ${lvPath}`);
    unmap(findPool(state, vg, lv.pool), lv, offset, length);
    const zeros = new Uint8Array(1024 * 1024);
    for (let at = offset; at < offset + length; at += zeros.length) {
      writeContents(contentPath(dir, vg, lv), [{ offset: at, data: zeros.subarray(0, Math.min(zeros.length, offset + length - at)) }]);
    }
  });
}

/** Detaches every loop device and removes the /dev/VG links; the state stays (LVs now inactive). */
export function modelTeardown(dir: string): void {
  withState(dir, (state) => {
    for (const [vgName, vg] of Object.entries(state.vgs)) {
      for (const [name, lv] of Object.entries(vg.lvs)) if (lv.kind === 'thin' && lv.active) deactivate(vgName, name, lv);
      try {
        rmdirSync(join('/dev', vgName));
      } catch {
        // not there, or something else lives in it
      }
    }
  });
}
