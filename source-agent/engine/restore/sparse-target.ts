// The target of `receive --sparse-write` / `--sparse` (behavior spec §5.3): an existing file or
// block device, updated in place, where only what differs is written. For each chunk of the
// session the local chunk is read first: a data chunk is written only when its bytes differ; a
// chunk the session holds as zeros is deallocated only when it is not all zeros locally — a hole
// punched in a file (`fallocate --punch-hole`), a discard of a block device (`blkdiscard`), one
// call per run of adjacent chunks — and the range is read back: wherever it does not read as
// zeros (the punch failed, a device that does not zero on discard), zeros are written. Every byte
// so changed counts as "Diff bytes". A file is first extended (never shrunk) to the session's
// size, and cut to it only at the end.
//
// Unlike a normal receive (restore-target.ts: a temporary file renamed into place) the target is
// changed in place, so a failure cannot leave it as it was. What it leaves:
// * nothing changed yet (every chunk so far matched): the target is untouched (a file that had
//   to be extended is cut back to its old size);
// * something changed: old and new chunks are mixed, so the first chunk — held back and written
//   last, as for block devices — is zeroed (also on an interrupt that cannot unwind), and the
//   partial restore cannot be mistaken for a good one. Running the same receive again finishes
//   it, writing (and with --sparse fetching) only what still differs.

import { constants, writeSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { describeError, FatalError, InputError } from '../../errors.js';
import { blockDeviceBytes } from '../../sys/block-device.js';
import { discardBlockDevice } from '../../sys/discard.js';
import { findOnPath } from '../../sys/exec.js';
import { onInterrupt } from '../../sys/interrupt.js';
import { punchHole } from '../../sys/punch-hole.js';
import { isAllZero, readPadded, writeFully, zeros } from './positional-io.js';
import { applyMetadata, type RestoreTarget } from './restore-target.js';

export interface SparseTarget extends RestoreTarget {
  /** Bytes written, punched or zeroed because they differed. */
  diffBytes(): number;
  /** A path that opens the target's own inode (procfs), for reading it while it is held open. */
  readonly readPath: string;
}

export interface SparseOptions {
  /** --sparse: refuse a missing target rather than fetch the whole volume into a new one. */
  fetchOnly: boolean;
  /** Where `fallocate` and `blkdiscard` are looked up. */
  env?: NodeJS.ProcessEnv | undefined;
  /** What "Saving to" calls a block device. */
  kind?: string | undefined;
}

/** Why sparse mode cannot be used: 'missing' (no target to compare with) or 'no-tool'. */
export type SparseUnavailable = 'missing' | 'no-tool';

/**
 * Opens `path` for a sparse receive, or says why it cannot be: a missing target is an error
 * for --sparse and a normal receive for --sparse-write (as in Wyng); without the tool that
 * deallocates, sparse modes are off ("Sparse and snapshot modes disabled.").
 */
export async function openSparseTarget(
  path: string,
  volsize: number,
  chunkSize: number,
  options: SparseOptions,
): Promise<SparseTarget | SparseUnavailable> {
  const existing = await fs.stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw new InputError(`Cannot use --save-to '${path}': ${describeError(error)}`);
  });
  if (!existing) {
    if (options.fetchOnly) throw new InputError(`--sparse needs an existing target: '${path}' does not exist.`);
    return 'missing';
  }
  const block = existing.isBlockDevice();
  if (!block && !existing.isFile()) throw new InputError(`--save-to '${path}' is not a regular file or block device.`);
  if (!(await findOnPath(block ? 'blkdiscard' : 'fallocate', options.env))) return 'no-tool';
  let handle: fs.FileHandle;
  try {
    // O_EXCL on a block device: refuse it while it is mounted or otherwise held open exclusively.
    handle = await fs.open(path, constants.O_RDWR | (block ? constants.O_EXCL : 0));
  } catch (error) {
    throw new InputError(`Cannot open '${path}' for writing: ${describeError(error)}`);
  }
  const oldSize = block ? blockDeviceBytes((await handle.stat()).rdev) : existing.size;
  if (block && oldSize < volsize) {
    await handle.close();
    throw new InputError(`Block device '${path}' holds ${oldSize} bytes, less than the volume's ${volsize}.`);
  }
  if (!block && oldSize < volsize) await handle.truncate(volsize);
  return sparseTarget(handle, {
    path,
    block,
    volsize,
    chunkSize,
    oldSize,
    env: options.env,
    description: block ? `${options.kind ?? 'block device'} '${path}'` : `file '${path}'`,
  });
}

interface Opened {
  path: string;
  block: boolean;
  volsize: number;
  chunkSize: number;
  oldSize: number;
  env: NodeJS.ProcessEnv | undefined;
  description: string;
}

function sparseTarget(handle: fs.FileHandle, t: Opened): SparseTarget {
  // The tools and the local-hash pass open the inode we hold, not whatever the path names now.
  const readPath = `/proc/${process.pid}/fd/${handle.fd}`;
  const local = Buffer.allocUnsafe(t.chunkSize);
  const firstBytes = Math.min(t.chunkSize, t.volsize);
  /** The first chunk's new content (null: unchanged; 'zero': to be deallocated), written last. */
  let first: Buffer | 'zero' | null = null;
  let changed = false;
  let diff = 0;
  /** A run of adjacent chunks to deallocate, not yet done. */
  let run: { start: number; end: number } | null = null;

  const readLocal = (address: number, size: number): Promise<Buffer> => readPadded(handle, local.subarray(0, size), address);
  const writeAll = async (data: Buffer, address: number) => {
    changed = true;
    await writeFully(handle, data, address);
  };
  /** Deallocates [start, end), then makes sure it reads as zeros. */
  const deallocate = async (start: number, end: number) => {
    changed = true;
    const length = end - start;
    const freed = await (t.block
      ? discardBlockDevice(readPath, { offset: start, length })
      : punchHole(readPath, start, length, t.env)
    ).then(
      () => true,
      () => false,
    );
    for (let at = start; at < end; at += t.chunkSize) {
      const size = Math.min(t.chunkSize, end - at);
      if (freed && isAllZero(await readLocal(at, size))) continue;
      await writeAll(zeros(size), at);
    }
  };
  const flushRun = async () => {
    if (!run) return;
    const { start, end } = run;
    run = null;
    await deallocate(start, end);
  };
  const zeroFirstChunk = async () => {
    await handle.write(Buffer.alloc(firstBytes), 0, firstBytes, 0);
    await handle.sync();
  };
  // An interrupt that cannot unwind in time: zero the first chunk if the target is half-done.
  // Synchronously: the thread pool may be busy with calls that do not return.
  const forget = onInterrupt(() => {
    if (changed) writeSync(handle.fd, Buffer.alloc(firstBytes), 0, firstBytes, 0);
  });

  return {
    description: t.description,
    readPath,
    diffBytes: () => diff,
    async write(address, data) {
      const before = await readLocal(address, data.length);
      if (before.equals(data)) return;
      diff += data.length;
      if (address === 0) {
        first = Buffer.from(data);
        return;
      }
      await writeAll(data, address);
    },
    async zero(address, size) {
      if (isAllZero(await readLocal(address, size))) return;
      diff += size;
      if (address === 0) {
        first = 'zero';
        return;
      }
      if (run && run.end === address) {
        run.end += size;
        return;
      }
      await flushRun();
      run = { start: address, end: address + size };
    },
    async commit(metadata) {
      await flushRun();
      if (first === 'zero') await deallocate(0, firstBytes);
      else if (first) await writeAll(first, 0);
      if (!t.block && t.oldSize > t.volsize) await handle.truncate(t.volsize);
      await handle.sync();
      // Before the close: a cleanup must never write to a descriptor number reused by then.
      forget();
      await handle.close();
      // A file gets the session's permissions and time, as after a normal receive.
      if (!t.block) await applyMetadata(t.path, metadata);
    },
    async abort() {
      try {
        if (changed) await zeroFirstChunk();
        else if (!t.block && t.oldSize < t.volsize) await handle.truncate(t.oldSize);
      } catch (error) {
        throw new FatalError(
          `Receive failed, and zeroing the first ${firstBytes} bytes of '${t.path}' failed too: ${describeError(error)}`,
        );
      } finally {
        forget();
        await handle.close().catch(() => {});
      }
      if (changed)
        return `the first ${firstBytes} bytes of '${t.path}' were zeroed so the partial restore cannot be mistaken for a good one`;
      return `nothing was written to '${t.path}'`;
    },
  };
}
