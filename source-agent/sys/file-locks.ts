// Whether another process holds a lock on a file (behavior spec §5.2: Wyng opens a receive target
// with an exclusive, non-blocking lockf, so an image a running VM holds is not overwritten). Node
// cannot take such a lock, so a receive looks for one instead: /proc/locks lists every POSIX,
// flock and OFD lock with its process and inode. The device number there is the superblock's,
// which for a Btrfs subvolume is not the one stat reports, so a row is matched by inode and then
// confirmed by finding the very file (same device and inode) among that process's open files.

import * as fs from 'node:fs/promises';

/** A process that holds a lock on `path` (and has it open), or null. */
export async function lockingProcess(path: string): Promise<number | null> {
  const target = await fs.stat(path).catch(() => null);
  if (!target?.isFile()) return null;
  const table = await fs.readFile('/proc/locks', 'utf8').catch(() => '');
  for (const line of table.split('\n')) {
    // "1: POSIX  ADVISORY  WRITE 1234 fe:00:5678 0 EOF"; waiters ("1: -> POSIX …") hold nothing.
    const fields = line.trim().split(/\s+/);
    if (fields[1] === '->' || fields.length < 6) continue;
    const pid = Number(fields[4]);
    const inode = Number(fields[5]?.split(':')[2]);
    if (inode !== target.ino || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    if (await hasOpen(pid, target)) return pid;
  }
  return null;
}

async function hasOpen(pid: number, target: import('node:fs').Stats): Promise<boolean> {
  const fds = await fs.readdir(`/proc/${pid}/fd`).catch((): string[] => []);
  for (const fd of fds) {
    const open = await fs.stat(`/proc/${pid}/fd/${fd}`).catch(() => null);
    if (open && open.dev === target.dev && open.ino === target.ino) return true;
  }
  return false;
}
