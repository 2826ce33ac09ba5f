// File systems on loop devices for system tests: Btrfs (with a subvolume as --local), XFS with
// reflink, ext4 (no reflink). `mount -o loop` sets autoclear, so unmounting detaches the loop
// device; everything is removed in `finally`, also when the test fails.

import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export type FsType = 'btrfs' | 'xfs' | 'ext4';

const MKFS: Record<FsType, string[]> = {
  btrfs: ['mkfs.btrfs', '-q', '-f'],
  xfs: ['mkfs.xfs', '-q', '-f', '-m', 'reflink=1'],
  ext4: ['mkfs.ext4', '-q', '-F'],
};

export const FS_TOOLS: Record<FsType, string[]> = {
  btrfs: ['mkfs.btrfs', 'btrfs', 'filefrag', 'losetup'],
  xfs: ['mkfs.xfs', 'filefrag', 'losetup'],
  ext4: ['mkfs.ext4', 'losetup'],
};

/** Mounts a fresh file system of `sizeMiB` under `workDir`; for Btrfs `local` is a subvolume. */
export async function withLoopFs<T>(
  type: FsType,
  workDir: string,
  sizeMiB: number,
  fn: (mount: { root: string; local: string }) => Promise<T>,
): Promise<T> {
  const image = join(workDir, `${type}.img`);
  const root = join(workDir, `${type}-mnt`);
  mkdirSync(root, { recursive: true });
  // mkfs.xfs refuses file systems under 300 MiB.
  execFileSync('truncate', ['-s', `${type === 'xfs' ? Math.max(sizeMiB, 320) : sizeMiB}M`, image]);
  execFileSync(MKFS[type][0] as string, [...MKFS[type].slice(1), image], { stdio: 'ignore' });
  execFileSync('mount', ['-o', 'loop', image, root]);
  try {
    let local = root;
    if (type === 'btrfs') {
      local = join(root, 'pool');
      execFileSync('btrfs', ['subvolume', 'create', local], { stdio: 'ignore' });
    }
    return await fn({ root, local });
  } finally {
    execFileSync('umount', [root]);
    rmSync(image, { force: true });
    rmSync(root, { recursive: true, force: true });
  }
}
