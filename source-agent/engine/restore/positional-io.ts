// Reading and writing a restore target at an offset, the few loops every receive writer needs
// (restore-target.ts, sparse-target.ts, baseline-writes.ts, zero-runs.ts, diff.ts): a positional
// read or write may move fewer bytes than asked, so each loops until done; and the all-zero test
// that decides whether a chunk is written, skipped or deallocated.

import type { FileHandle } from 'node:fs/promises';

/** The longest run of zeros `zeros()` gives; longer ranges are written in pieces of this size. */
export const ZERO_PIECE = 2 * 1024 * 1024;
const ZEROS = Buffer.alloc(ZERO_PIECE);

/** `size` (≤ ZERO_PIECE) bytes of a shared buffer of zeros, never to be written into. */
export function zeros(size: number): Buffer {
  return ZEROS.subarray(0, size);
}

/** Whether every byte of `data` is zero. */
export function isAllZero(data: Buffer): boolean {
  for (let at = 0; at < data.length; at += ZEROS.length) {
    const part = data.subarray(at, at + ZEROS.length);
    if (!part.equals(ZEROS.subarray(0, part.length))) return false;
  }
  return true;
}

/** Reads into `view` from `address` until it is full or the end is reached; returns the bytes read. */
export async function readFully(handle: FileHandle, view: Buffer, address: number): Promise<number> {
  let done = 0;
  while (done < view.length) {
    const { bytesRead } = await handle.read(view, done, view.length - done, address + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** What the target holds at `address`, `view.length` bytes; past its end reads as zeros. Returns `view`. */
export async function readPadded(handle: FileHandle, view: Buffer, address: number): Promise<Buffer> {
  view.fill(0, await readFully(handle, view, address));
  return view;
}

/** Writes all of `data` at `address`. */
export async function writeFully(handle: FileHandle, data: Buffer, address: number): Promise<void> {
  let done = 0;
  while (done < data.length) done += (await handle.write(data, done, data.length - done, address + done)).bytesWritten;
}
