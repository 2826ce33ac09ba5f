// Nocow (`chattr +C`) volumes on Btrfs, sent the way Wyng sends them (behavior spec §2.5): as if
// imported, read whole on every send with only the chunks whose hash differs stored, and a session
// every time. Their extent maps are not used for change detection: Btrfs overwrites an unshared
// nocow extent in place, so "same physical blocks" stops meaning "same data" for any extent that
// is not shared with a snapshot at that moment, and a reflink clone of a nocow file is refused
// (EINVAL) unless the new file is nocow too (observed: it must be created in a +C directory).
//
// The bytes are read from a reflink clone where one can be made (a +C directory: a point-in-time
// copy), else from the volume itself, as Wyng does. The clone is removed after the send; no
// snapshot is kept for such a volume, so diff compares the volume, as Wyng's does.

import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import { execFileCapture } from '../sys/exec.js';
import { type PreparedVolume, permissionsOf } from './volume-source.js';

/** True when lsattr shows the `C` (no copy-on-write) attribute on `path`. */
export async function isNocow(path: string): Promise<boolean> {
  try {
    const { stdout } = await execFileCapture(['lsattr', '-d', '--', path], { maxOutput: 64 * 1024 });
    // "---------------C------ /path": the attribute letters, then the name.
    const flags = stdout.toString('utf8').trimStart().split(/\s/, 1)[0] ?? '';
    return flags.includes('C');
  } catch {
    // No lsattr, or a file system without attributes: nothing is nocow there.
    return false;
  }
}

export interface NocowRequest {
  volumePath: string;
  /** The snapshot paths this volume would have (reflink-source.ts snapshotPaths). */
  snapshots: { paired: string; next: string };
}

export async function prepareNocowVolume(request: NocowRequest): Promise<PreparedVolume> {
  const { volumePath, snapshots } = request;
  await fs.rm(snapshots.next, { force: true });
  let path = snapshots.next;
  try {
    await fs.copyFile(volumePath, snapshots.next, constants.COPYFILE_FICLONE_FORCE);
  } catch {
    await fs.rm(snapshots.next, { force: true });
    path = volumePath;
  }
  const stats = await fs.stat(volumePath, { bigint: true });
  const size = Number((await fs.stat(path, { bigint: true })).size);
  const dropClone = () => (path === volumePath ? Promise.resolve() : fs.rm(snapshots.next, { force: true }));
  return {
    path,
    size,
    mtimeNs: stats.mtimeNs,
    permissions: permissionsOf(Number(stats.mode), Number(stats.uid), Number(stats.gid)),
    changed: null,
    unchanged: false,
    alwaysSession: true,
    async commit() {
      await dropClone();
      // A snapshot from before the volume became nocow pairs with nothing now.
      await fs.rm(snapshots.paired, { force: true });
    },
    discard: dropClone,
  };
}
