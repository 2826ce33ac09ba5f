// The mixed volume the core-scaling and main-thread benches send: per MiB, half random (does not
// compress), a quarter zeros (zero chunks), a quarter text (compresses well), as
// ../shared/tools/core-scaling.sh makes it, so that every stage of the pipeline has its share.

import { randomFillSync } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';

const MiB = 1024 * 1024;

export function writeMixedVolume(path: string, mib: number): void {
  const words = Buffer.from('backup volume snapshot session chunk archive thin pool extent reflink delta qubes dom0 \n'.repeat(12000));
  const block = Buffer.allocUnsafe(MiB);
  const fd = openSync(path, 'w');
  try {
    for (let i = 0; i < mib; i++) {
      const kind = i % 4;
      if (kind < 2) randomFillSync(block);
      else if (kind === 2) block.fill(0);
      else words.copy(block, 0, i % 64, (i % 64) + MiB);
      writeSync(fd, block, 0, MiB, i * MiB);
    }
  } finally {
    closeSync(fd);
  }
}
