// --import-other-from=VOL:|:PATH: a regular file or a block device read whole on every send
// (no snapshot, no change tracking); only chunks whose hash differs from the archive are stored.

import * as fs from 'node:fs/promises';
import { describeError, InputError } from '../errors.js';
import { blockDeviceBytes } from '../sys/block-device.js';
import { type PreparedVolume, permissionsOf } from './volume-source.js';

export async function prepareImport(path: string): Promise<PreparedVolume> {
  let stats: import('node:fs').BigIntStats;
  try {
    stats = await fs.stat(path, { bigint: true });
  } catch (error) {
    throw new InputError(`Cannot read import source '${path}': ${describeError(error)}`);
  }
  let size: number;
  if (stats.isBlockDevice()) size = blockDeviceBytes(Number(stats.rdev));
  else if (stats.isFile()) size = Number(stats.size);
  else throw new InputError(`Import source '${path}' is not a regular file or block device.`);
  return {
    path,
    size,
    mtimeNs: stats.mtimeNs,
    permissions: permissionsOf(Number(stats.mode), Number(stats.uid), Number(stats.gid)),
    changed: null,
    unchanged: false,
    alwaysSession: true,
    commit: async () => {},
    discard: async () => {},
  };
}

/** One --import-other-from=VOLUME:|:PATH. */
export interface ImportSpec {
  volume: string;
  path: string;
}

/** Parses one --import-other-from value: VOL:|:PATH (split at the first ":|:"). */
export function parseImportSpec(spec: string, cwd: string): ImportSpec {
  const at = spec.indexOf(':|:');
  if (at <= 0 || at + 3 >= spec.length) throw new InputError(`--import-other-from needs VOLUME:|:PATH, not '${spec}'.`);
  const path = spec.slice(at + 3);
  return { volume: spec.slice(0, at), path: path.startsWith('/') ? path : `${cwd}/${path}` };
}
