// Where `receive --save-to` writes a volume, and how a failed receive is kept from looking like
// a good one:
// * a file is written under a temporary name next to the target and renamed over it only after
//   every chunk passed its checks; on failure the temporary file is removed and the target is
//   left exactly as it was. All-zero chunks are never written, so they stay holes.
// * a block device cannot be renamed, so its first chunk (partition table, superblock) is held
//   back and written last; a failure zeroes that first chunk instead, so a partial restore never
//   mounts as a good one. Zero chunks are not written: their ranges are discarded and read back
//   before the first chunk goes in (zero-runs.ts), and bytes past the volume are left alone —
//   unless the caller asks for discard mode:
// * discard mode (an LVM thin LV: behavior spec §5.2–5.3): the whole device is discarded first,
//   after which dm-thin reads every block as zeros, so all-zero chunks are not written at all
//   (a restored 1 TB volume of mostly zeros allocates only its data). The first chunk is still
//   written last; a failure discards the whole device again.
// * baseline (receive --use-snapshot into a reflink pool): the temporary file starts as a reflink
//   copy of the paired snapshot and chunks are written only where they differ
//   (baseline-writes.ts); it is renamed into place as any file is. An LV re-made as a snapshot
//   (keepContent) is written the same way, its first chunk still last.
// A plain file or block device (no baseline) also offers its descriptor (`positional`), so that
// a direct receive's workers write checked chunks at their addresses themselves: the same rules,
// applied by them (an all-zero chunk is handed back to `zero`, a held first chunk to `write`).

import { constants, rmSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describeError, FatalError, InputError } from '../../errors.js';
import { itemAt } from '../../lookup.js';
import { groupId, userId } from '../../sys/accounts.js';
import { blockDeviceBytes } from '../../sys/block-device.js';
import { discardBlockDevice } from '../../sys/discard.js';
import { lockingProcess } from '../../sys/file-locks.js';
import { onInterrupt } from '../../sys/interrupt.js';
import { makeDirs } from '../../sys/make-dirs.js';
import { baselineWriter } from './baseline-writes.js';
import { isAllZero, writeFully, ZERO_PIECE, zeros } from './positional-io.js';
import { removeAbandonedTemporaries, temporaryName } from './receive-temporaries.js';
import { ZeroRuns } from './zero-runs.js';

export interface TargetMetadata {
  /** "mode:user:group" from the session info ('' or 'r'/'w' for LVM-sourced sessions). */
  permissions: string;
  /** Snapshot time in ns, or null. */
  mtimeNs: bigint | null;
}

export interface RestoreTarget {
  /** "file '/path'" or "block device '/dev/…'", as Wyng prints it after "Saving to". */
  readonly description: string;
  write(address: number, data: Buffer): Promise<void>;
  /** A chunk that reads as zeros. */
  zero(address: number, size: number): Promise<void>;
  commit(metadata: TargetMetadata): Promise<void>;
  /** Undo after a failure; returns a note on what the failure left behind. */
  abort(): Promise<string>;
  /** Bytes that differed from the baseline (files with a baseline only). */
  diffBytes?(): number;
  /**
   * For writers on other threads (direct-receive.ts), where writing a chunk at its address is
   * all `write` would do: they write a chunk that is not all zeros with pwrite to `fd` (open
   * until commit or abort), except the first chunk when `holdsFirstChunk`, which goes to `write`;
   * an all-zero chunk goes to `zero`. Absent where every chunk must pass through `write`.
   */
  readonly positional?: { readonly fd: number; readonly holdsFirstChunk: boolean };
}

export interface TargetOptions {
  /** A block device that reads as zeros once discarded (an LVM thin LV): discard, then skip zeros. */
  discard?: boolean;
  /** What "Saving to" calls a block device (Wyng: 'tlvm pool' for a receive into --local). */
  kind?: string;
  /** A file to start from (a reflink copy; a file target only): only differing chunks are written. */
  baseline?: string;
  /** A block device that already holds a close copy (a snapshot of it): not discarded, only differing chunks written. */
  keepContent?: boolean;
}

export async function openRestoreTarget(
  path: string,
  volsize: number,
  chunkSize: number,
  options: TargetOptions = {},
): Promise<RestoreTarget> {
  const existing = await fs.stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw new InputError(`Cannot use --save-to '${path}': ${describeError(error)}`);
  });
  if (existing?.isBlockDevice()) return openBlockTarget(path, volsize, chunkSize, options);
  // A missing /dev path is a device that is not there (an LV not yet created), not a file to make;
  // /dev/shm is the exception, a tmpfs of ordinary files.
  if (!existing && /^\/dev\/(?!shm\/)/.test(path))
    throw new InputError(`'${path}' does not exist: create the volume first, or receive into an LVM thin pool with --local=VG/POOL.`);
  if (options.discard) throw new InputError(`'${path}' is not a block device.`);
  if (existing && !existing.isFile()) throw new InputError(`--save-to '${path}' is not a regular file or block device.`);
  // Wyng takes a lockf lock on the target; a file another process has locked (a running VM's
  // image) is not replaced.
  const holder = existing ? await lockingProcess(path) : null;
  if (holder !== null) throw new InputError(`'${path}' is in use: locked by process ${holder}.`);
  return openFileTarget(path, volsize, options.baseline);
}

async function openFileTarget(path: string, volsize: number, baseline?: string): Promise<RestoreTarget> {
  const dir = dirname(path);
  try {
    await makeDirs(dir);
  } catch (error) {
    throw new InputError(`Cannot create directory '${dir}': ${describeError(error)}`);
  }
  await removeAbandonedTemporaries(dir);
  const tmp = join(dir, temporaryName(path));
  let handle: fs.FileHandle;
  try {
    if (baseline !== undefined) {
      await fs.copyFile(baseline, tmp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
      await fs.chmod(tmp, 0o600);
      handle = await fs.open(tmp, 'r+');
    } else {
      handle = await fs.open(tmp, 'wx', 0o600);
    }
    await handle.truncate(volsize);
  } catch (error) {
    await fs.rm(tmp, { force: true });
    throw new InputError(`Cannot write in '${dir}': ${describeError(error)}`);
  }
  // Removed even when an interrupted receive cannot unwind in time (it may wait on a chunk).
  // Synchronously: the thread pool may be full of calls that never return (FIFOs).
  const forget = onInterrupt(() => rmSync(tmp, { force: true }));
  const over = baseline !== undefined ? baselineWriter(handle) : null;
  return {
    description: `file '${path}'`,
    async write(address, data) {
      if (over) return over.write(address, data);
      if (isAllZero(data)) return;
      await writeFully(handle, data, address);
    },
    async zero(address, size) {
      if (over) await over.zero(address, size);
    },
    ...(over ? { diffBytes: () => over.diffBytes } : { positional: { fd: handle.fd, holdsFirstChunk: false } }),
    async commit(metadata) {
      await over?.finish(tmp);
      await handle.sync();
      await handle.close();
      await applyMetadata(tmp, metadata);
      await fs.rename(tmp, path);
      forget();
      const dirHandle = await fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
      await dirHandle.sync().finally(() => dirHandle.close());
    },
    async abort() {
      await handle.close().catch(() => {});
      await fs.rm(tmp, { force: true });
      forget();
      return `nothing was written to '${path}'`;
    },
  };
}

export async function applyMetadata(path: string, metadata: TargetMetadata): Promise<void> {
  const parts = metadata.permissions.split(':');
  if (parts.length === 3 && /^[0-9]+$/.test(itemAt(parts, 0))) {
    // Permission bits only: a setuid/setgid/sticky bit recorded by a hostile destination would
    // otherwise turn the restored image into a root-owned set-user-id program.
    await fs.chmod(path, Number(parts[0]) & 0o777);
    if (process.getuid?.() === 0) {
      const uid = userId(itemAt(parts, 1));
      const gid = groupId(itemAt(parts, 2));
      if (uid !== null || gid !== null) await fs.chown(path, uid ?? -1, gid ?? -1);
    }
  } else {
    await fs.chmod(path, 0o600);
  }
  if (metadata.mtimeNs !== null) {
    const seconds = Number(metadata.mtimeNs / 1000n) / 1e6;
    await fs.utimes(path, seconds, seconds);
  }
}

async function openBlockTarget(path: string, volsize: number, chunkSize: number, options: TargetOptions): Promise<RestoreTarget> {
  let handle: fs.FileHandle;
  try {
    // O_EXCL on a block device: refuse it while it is mounted or otherwise held open exclusively.
    handle = await fs.open(path, constants.O_RDWR | constants.O_EXCL);
  } catch (error) {
    throw new InputError(`Cannot open block device '${path}' for writing: ${describeError(error)}`);
  }
  const stats = await handle.stat();
  const deviceBytes = blockDeviceBytes(stats.rdev);
  if (deviceBytes < volsize) {
    await handle.close();
    throw new InputError(`Block device '${path}' holds ${deviceBytes} bytes, less than the volume's ${volsize}.`);
  }
  const discard = options.discard === true && options.keepContent !== true;
  const over = options.keepContent ? baselineWriter(handle) : null;
  // Any other block device: zero chunks are not written but freed at the end (zero-runs.ts).
  const zeroRuns = discard || over ? null : new ZeroRuns(path, handle);
  if (discard) {
    try {
      await discardBlockDevice(path);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }
  const firstChunkBytes = Math.min(chunkSize, volsize);
  const firstChunk = Buffer.alloc(firstChunkBytes);
  // Over existing content, a first chunk the session does not rewrite (--use-snapshot-diff) keeps it.
  if (over) await handle.read(firstChunk, 0, firstChunkBytes, 0);
  const writeAt = async (address: number, data: Buffer) => {
    if (address === 0) {
      data.copy(firstChunk);
      return;
    }
    if (over) return over.write(address, data);
    // After a discard the device reads as zeros: a chunk of zeros is already there.
    if (discard && isAllZero(data)) return;
    if (zeroRuns && isAllZero(data)) return zeroRuns.add(address, data.length);
    await writeFully(handle, data, address);
  };
  const zeroFirstChunk = async () => {
    await handle.write(Buffer.alloc(firstChunkBytes), 0, firstChunkBytes, 0);
    await handle.sync();
  };
  return {
    description: `${options.kind ?? 'block device'} '${path}'`,
    write: writeAt,
    ...(over ? { diffBytes: () => over.diffBytes } : { positional: { fd: handle.fd, holdsFirstChunk: true } }),
    async zero(address, size) {
      if (over && address > 0) return over.zero(address, size);
      if (over) return void firstChunk.fill(0);
      if (discard) return;
      if (zeroRuns && address > 0) return zeroRuns.add(address, size);
      for (let at = 0; at < size; at += ZERO_PIECE) await writeAt(address + at, zeros(Math.min(ZERO_PIECE, size - at)));
    },
    async commit() {
      // Before the first chunk: until it is written, a failure leaves a device that cannot pass for a restore.
      await zeroRuns?.finish();
      if (over) await over.write(0, firstChunk);
      else if (!discard || !isAllZero(firstChunk)) await handle.write(firstChunk, 0, firstChunk.length, 0);
      await handle.sync();
      await handle.close();
    },
    async abort() {
      try {
        if (discard) {
          // The first chunk was never written; discarding everything leaves no half-restore.
          await handle.sync();
          await discardBlockDevice(path).catch(zeroFirstChunk);
        } else {
          await zeroFirstChunk();
        }
      } catch (error) {
        throw new FatalError(
          `Receive failed, and zeroing the first ${firstChunkBytes} bytes of '${path}' failed too: ${describeError(error)}`,
        );
      } finally {
        await handle.close().catch(() => {});
      }
      if (discard) return `'${path}' was discarded (it reads as zeros) so the partial restore cannot be mistaken for a good one`;
      return `the first ${firstChunkBytes} bytes of '${path}' were zeroed so the partial restore cannot be mistaken for a good one`;
    },
  };
}
