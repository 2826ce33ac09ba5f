// Block device facts Node does not expose: the size (st_size is 0 for block devices).

import { readFileSync } from 'node:fs';

/** Size in bytes of the block device with this st_rdev, from /sys/dev/block/<major>:<minor>/size. */
export function blockDeviceBytes(rdev: number): number {
  // Linux dev_t: major in bits 8-19, minor in bits 0-7 and 20-31.
  const major = (rdev >> 8) & 0xfff;
  const minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
  const sectors = readFileSync(`/sys/dev/block/${major}:${minor}/size`, 'utf8').trim();
  return Number(sectors) * 512;
}
