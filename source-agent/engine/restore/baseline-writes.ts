// Writing a session over a file that already holds a close copy of it — the reflink copy of a
// paired snapshot that `receive --use-snapshot` / `--use-snapshot-diff` starts from (behavior
// spec §5.3–5.4, sparse-write mode): each chunk is compared with what the file holds and written
// only where it differs, so extents shared with the snapshot stay shared. A zero chunk over
// non-zero bytes is written as zeros; those regions are turned back into holes once at the end
// (`fallocate --dig-holes`, best effort: the bytes read as zeros either way).
//
// This is the minimal piece receive needs for snapshots; the general --sparse-write writer (any
// existing target) is built separately.

import type { FileHandle } from 'node:fs/promises';
import { execFileCapture } from '../../sys/exec.js';
import { isAllZero, readPadded, writeFully } from './positional-io.js';

export interface BaselineWriter {
  write(address: number, data: Buffer): Promise<void>;
  zero(address: number, size: number): Promise<void>;
  /** Punches holes where zeros were written (call after the last write, before closing). */
  finish(path: string): Promise<void>;
  /** Bytes of chunks that differed from the baseline (Wyng's "Diff bytes"). */
  readonly diffBytes: number;
}

export function baselineWriter(handle: FileHandle): BaselineWriter {
  let scratch = Buffer.alloc(0);
  let diffBytes = 0;
  let zerosWritten = false;
  const current = async (address: number, size: number): Promise<Buffer> => {
    if (scratch.length < size) scratch = Buffer.alloc(size);
    // Past the end of the baseline (the file was grown by truncate) reads as zeros.
    return readPadded(handle, scratch.subarray(0, size), address);
  };
  const put = async (address: number, data: Buffer) => {
    await writeFully(handle, data, address);
    diffBytes += data.length;
  };
  return {
    async write(address, data) {
      if (!(await current(address, data.length)).equals(data)) await put(address, data);
    },
    async zero(address, size) {
      if (isAllZero(await current(address, size))) return;
      await put(address, Buffer.alloc(size));
      zerosWritten = true;
    },
    async finish(path) {
      if (zerosWritten) await execFileCapture(['fallocate', '--dig-holes', path]).catch(() => {});
    },
    get diffBytes() {
      return diffBytes;
    },
  };
}
