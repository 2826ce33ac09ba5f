// The zero chunks of a receive into a block device that is not discarded whole (anything but a
// thin LV, behavior spec §5.3): they are not written as zeros. Their ranges are collected while
// the volume is written and, before the first chunk goes in, freed with BLKDISCARD (a loop
// device punches holes in its backing file, an SSD or thin device unmaps) — only those ranges,
// never the whole device, so bytes past the volume stay as they were. A discard does not read
// back as zeros on every device, so each freed range is read back and zeros are written where
// it is not zeros; where discarding fails (no discard support) zeros are written. The result is
// the same bytes as writing zeros, with nothing allocated where the device can avoid it.

import type { FileHandle } from 'node:fs/promises';
import { discardBlockDevice } from '../../sys/discard.js';
import { isAllZero, readFully, writeFully, ZERO_PIECE, zeros } from './positional-io.js';

/** Beyond this many runs, the rest are written as zeros rather than one `blkdiscard` each. */
const MAX_DISCARDS = 4096;

interface Run {
  offset: number;
  length: number;
}

export class ZeroRuns {
  private readonly runs: Run[] = [];
  private readonly path: string;
  private readonly handle: FileHandle;

  constructor(path: string, handle: FileHandle) {
    this.path = path;
    this.handle = handle;
  }

  /** A chunk of zeros at `offset`; chunks come in address order, so neighbours merge. */
  add(offset: number, length: number): void {
    const last = this.runs.at(-1);
    if (last && last.offset + last.length === offset) last.length += length;
    else this.runs.push({ offset, length });
  }

  /** Frees every run and makes sure it reads as zeros. */
  async finish(): Promise<void> {
    let discardWorks = true;
    for (const [i, run] of this.runs.entries()) {
      if (discardWorks && i < MAX_DISCARDS) {
        discardWorks = await discardBlockDevice(this.path, run).then(
          () => true,
          () => false,
        );
      }
      await this.zeroWhereNot(run);
    }
  }

  private async zeroWhereNot(run: Run): Promise<void> {
    const piece = Buffer.alloc(Math.min(ZERO_PIECE, run.length));
    for (let at = run.offset; at < run.offset + run.length; at += piece.length) {
      const length = Math.min(piece.length, run.offset + run.length - at);
      const view = piece.subarray(0, length);
      if ((await readFully(this.handle, view, at)) === length && isAllZero(view)) continue;
      await writeFully(this.handle, zeros(length), at);
    }
  }
}
