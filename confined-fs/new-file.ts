// Writing a file that must not exist yet, whole, with synchronous calls: the chunk files of a
// send. One function for the three writers of chunk files: the send workers on `file:`
// destinations (engine/chunk-worker.ts, in their own threads, holding only the number of the
// archive directory's descriptor), LocalStore.writeNew and the destination helper's whole-file
// write (both through ArchiveDirectory.writeNewWhole). No sync here: a send makes its chunk
// files durable once, before it publishes them. For a file of a few hundred KiB synchronous
// calls cost less than trips through libuv's thread pool.

import { closeSync, openSync, writeSync } from 'node:fs';
import { at, NEW_FILE, parentsAndLeaf, unlinkQuietly, walkFrom } from './beneath-root.js';

/**
 * Creates entry `leaf` of the directory open as `dirFd` (never through a link, EEXIST when
 * anything is there) and writes `data` to it; a write that fails leaves no partial file.
 */
export function writeNewFile(dirFd: number, leaf: string, data: Uint8Array): void {
  const path = at(dirFd, leaf);
  const fd = openSync(path, NEW_FILE, 0o644);
  try {
    let done = 0;
    while (done < data.length) done += writeSync(fd, data, done, data.length - done);
  } catch (error) {
    closeSync(fd);
    unlinkQuietly(path);
    throw error;
  }
  closeSync(fd);
}

/**
 * writeNewFile at archive path `path` (clean, not "."), walking its directories from the
 * archive's descriptor `rootFd` without following links and creating missing ones: a directory
 * swapped for a link by anyone with access to the destination cannot lead the write outside.
 */
export function writeNewFileBeneath(rootFd: number, path: string, data: Uint8Array): void {
  const [parents, leaf] = parentsAndLeaf(path);
  const dirFd = walkFrom(rootFd, parents, true);
  try {
    writeNewFile(dirFd, leaf, data);
  } finally {
    closeSync(dirFd);
  }
}
