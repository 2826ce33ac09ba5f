// Reading extent maps on Btrfs inside a read-only snapshot of the whole pool subvolume, frozen for
// the scan, as Wyng does (behavior spec §3.1): the two reflink snapshots of a volume are read as
// they were at one moment, and the frozen subvolume's generation is read before and after. Btrfs
// rewrites a subvolume's tree — and so raises its generation — whenever extents it refers to are
// moved (balance, relocation) or its files change, so an unchanged generation proves that both
// maps describe one unchanging state. On a change the maps are read again after a pause (3, 6 and
// 12 s, as Wyng); after the last try the send stops with Wyng's "Filesystem Generation IDs
// differ." (exit 7).
//
// The frozen subvolume is `<pool>/.skiff-scan-<pid>-<hex>`, deleted after the scan; one left by
// a run that was killed is deleted by the next scan in that pool once its process is gone.

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalStorageError } from '../errors.js';
import { execFileCapture } from '../sys/exec.js';
import { changedChunks, type ExtentMap, parseFilefrag } from './extent-map.js';

/** Wyng's pauses before each re-scan. */
export const GENERATION_RETRY_DELAYS_MS: readonly number[] = [3000, 6000, 12000];

const SCAN_NAME = /^\.skiff-scan-(\d+)-[0-9a-f]{8}$/;
// btrfs-progs prints English only in the C locale.
const C_LOCALE = { ...process.env, LC_ALL: 'C' };

export interface FrozenScanOptions {
  retryDelaysMs?: readonly number[];
  /** Runs after each reading of the maps, before the generation is read again (tests). */
  afterScan?: (attempt: number) => Promise<void>;
  /** Told before each re-scan (Wyng's words). */
  note?: (text: string) => void;
}

export interface FrozenMaps {
  old: ExtentMap;
  new: ExtentMap;
  /** How many times the maps were read again because the generation moved. */
  rescans: number;
}

async function generation(subvolume: string): Promise<string> {
  const { stdout } = await execFileCapture(['btrfs', 'subvolume', 'show', subvolume], { env: C_LOCALE });
  const m = /^\s*Generation:\s*(\d+)\s*$/m.exec(stdout.toString('utf8'));
  if (!m?.[1]) throw new LocalStorageError(`Cannot read the generation of '${subvolume}' from btrfs subvolume show.`);
  return m[1];
}

export async function readExtentMap(path: string): Promise<ExtentMap> {
  const { stdout } = await execFileCapture(['filefrag', '-v', '-s', path], { maxOutput: 512 * 1024 * 1024, env: C_LOCALE });
  return parseFilefrag(stdout.toString('utf8'));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function deleteSubvolume(path: string): Promise<void> {
  await execFileCapture(['btrfs', 'subvolume', 'delete', path], { env: C_LOCALE });
}

/** Deletes frozen subvolumes that runs which are gone left in `pool`. */
async function removeStale(pool: string): Promise<void> {
  for (const name of await fs.readdir(pool)) {
    const m = SCAN_NAME.exec(name);
    if (m && !alive(Number(m[1]))) await deleteSubvolume(join(pool, name)).catch(() => {});
  }
}

/**
 * Reads the extent maps of `oldPath` and `newPath` (files under the Btrfs subvolume `pool`) from
 * one frozen state of the pool. Returns null when they are not in the pool subvolume itself (a
 * nested subvolume is not part of the snapshot): the caller then reads the whole volume.
 */
export async function frozenExtentMaps(
  pool: string,
  oldPath: string,
  newPath: string,
  options: FrozenScanOptions = {},
): Promise<FrozenMaps | null> {
  const delays = options.retryDelaysMs ?? GENERATION_RETRY_DELAYS_MS;
  await removeStale(pool);
  const frozen = join(pool, `.skiff-scan-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await execFileCapture(['btrfs', 'subvolume', 'snapshot', '-r', pool, frozen], { env: C_LOCALE });
  } catch (error) {
    throw new LocalStorageError(`Cannot make a read-only snapshot of '${pool}' for the scan: ${(error as Error).message.trim()}`);
  }
  try {
    const inFrozen = (path: string) => join(frozen, relative(pool, path));
    const present = await Promise.all(
      [oldPath, newPath].map((p) =>
        fs.stat(inFrozen(p)).then(
          () => true,
          () => false,
        ),
      ),
    );
    if (!present.every(Boolean)) return null;
    let before = await generation(frozen);
    for (let attempt = 0; ; attempt++) {
      const maps = { old: await readExtentMap(inFrozen(oldPath)), new: await readExtentMap(inFrozen(newPath)) };
      await options.afterScan?.(attempt);
      const after = await generation(frozen);
      if (after === before) return { ...maps, rescans: attempt };
      const delay = delays[attempt];
      if (delay === undefined) throw new LocalStorageError('Filesystem Generation IDs differ.');
      options.note?.(' Re-scanning deltas for matching Gen ID...');
      await sleep(delay);
      before = await generation(frozen);
    }
  } finally {
    await deleteSubvolume(frozen);
  }
}

/** The chunks that differ between a volume's paired and new snapshot, from one frozen state; null: read everything. */
export async function frozenDelta(
  pool: string,
  snapshots: { paired: string; next: string },
  chunkSize: number,
  newSize: number,
  note: (text: string) => void,
): Promise<Uint8Array | null> {
  const maps = await frozenExtentMaps(pool, snapshots.paired, snapshots.next, { note });
  return maps ? changedChunks(maps.old, maps.new, chunkSize, newSize) : null;
}
