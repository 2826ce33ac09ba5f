// Discarding a block device's contents (BLKDISCARD) through util-linux `blkdiscard`: Node has no
// ioctl. A receive into an LVM thin LV discards the whole LV first, so dm-thin unmaps every block
// and the chunks that are all zeros need not be written (behavior spec §5.2–5.3).
//
// The caller holds the device open with O_EXCL (nothing has it mounted); `blkdiscard` since
// util-linux 2.36 opens it with O_EXCL too, which would then fail with EBUSY, so --force is
// given: it only skips that exclusive open, our own open already did the check.

import { describeError, LocalStorageError } from '../errors.js';
import { execFileCapture } from './exec.js';

/** Discards [offset, offset + length) of the block device at `path`, or all of it. */
export async function discardBlockDevice(path: string, range?: { offset: number; length: number }): Promise<void> {
  const argv = ['blkdiscard', '--force', ...(range ? ['-o', String(range.offset), '-l', String(range.length)] : []), path];
  try {
    await execFileCapture(argv);
  } catch (error) {
    throw new LocalStorageError(`Cannot discard '${path}': ${describeError(error)}`);
  }
}
