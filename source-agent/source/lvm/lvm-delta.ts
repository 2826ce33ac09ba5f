// The delta step of an LVM send or monitor: which archive chunks differ between a volume's paired
// snapshot (.skiff1) and the new one (.skiff2), from the pool's own metadata.
//
// dm-thin lets a reader see consistent metadata only through a reserved metadata snapshot, and a
// pool can hold one at a time: a reservation left behind blocks every later delta (Skiff's and
// Wyng's) until someone releases it. So the reservation is released whatever happens — thin_delta
// failing, garbled or truncated output, the deadline, SIGINT/SIGTERM (the abort signal kills
// thin_delta; if the command cannot unwind in time the interrupt cleanup releases it) — and a
// failed release is reported, never hidden.

import { describeError, LocalStorageError } from '../../errors.js';
import { onInterrupt } from '../../sys/interrupt.js';
import { type ChunkRange, clipChunks, DeltaChunkMapper } from './delta-chunks.js';
import type { LvmPool } from './lvm-pool.js';
import { ThinDeltaParser } from './thin-delta-xml.js';

/** How long thin_delta may run by default (a multi-TB pool's metadata takes seconds, not minutes). */
const DEFAULT_DEADLINE_S = 600;

/** `SKIFF_THIN_DELTA_TIMEOUT` (seconds) from the environment, else the default. */
export function thinDeltaDeadlineMs(env: NodeJS.ProcessEnv): number {
  const text = env['SKIFF_THIN_DELTA_TIMEOUT'];
  const seconds = text === undefined ? Number.NaN : Number(text);
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_DEADLINE_S) * 1000;
}

export interface DeltaRequest {
  /** dm-thin ids of the paired and the new snapshot. */
  thin1: number;
  thin2: number;
  chunkSize: number;
  /** Sizes of the paired and the new snapshot. */
  oldSize: number;
  newSize: number;
  signal?: AbortSignal;
}

export interface LvmDelta {
  /** Chunks that may differ (sorted, merged), not clipped: a deltamap keeps marks past a shrink. */
  ranges: ChunkRange[];
  /** Pool block size in 512-byte sectors. */
  dataBlockSize: number;
  /** Bytes unmapped since the paired snapshot (left_only: discarded, or cut off by a shrink). */
  freedBytes: number;
}

/** Reserves the pool's metadata snapshot for `work`, and releases it however `work` ends. */
export async function withMetadataSnap<T>(pool: LvmPool, work: () => Promise<T>): Promise<T> {
  const { lvm, vg } = pool;
  await lvm.reserveMetadataSnap(vg, pool.pool);
  const release = () => lvm.releaseMetadataSnap(vg, pool.pool).then(() => {});
  const unregister = onInterrupt(release);
  let result: T;
  try {
    result = await work();
  } catch (error) {
    unregister();
    await release().catch((releaseError: unknown) => {
      throw new LocalStorageError(
        `${describeError(error)}; and releasing the metadata snapshot of ${vg}/${pool.pool}: ${describeError(releaseError)}`,
      );
    });
    throw error;
  }
  unregister();
  await release();
  return result;
}

/** thin_delta between the two snapshots, parsed with limits and mapped to archive chunks. */
export async function lvmDelta(pool: LvmPool, request: DeltaRequest): Promise<LvmDelta> {
  return withMetadataSnap(pool, () => deltaOnReservedSnap(pool, request));
}

/** The delta step with the metadata snapshot already reserved (several volumes of one pool). */
export async function deltaOnReservedSnap(pool: LvmPool, request: DeltaRequest): Promise<LvmDelta> {
  let mapper: DeltaChunkMapper | null = null;
  let freedBlocks = 0;
  const parser = new ThinDeltaParser({
    left: request.thin1,
    right: request.thin2,
    onRange: (range) => {
      // Ranges come inside <superblock>, so the block size is known by the first one.
      mapper ??= new DeltaChunkMapper({
        dataBlockSize: parser.dataBlockSize,
        chunkSize: request.chunkSize,
        oldSize: request.oldSize,
        newSize: request.newSize,
      });
      mapper.add(range);
      if (range.kind === 'left_only') freedBlocks += range.length;
    },
  });
  await pool.lvm.thinDelta(pool.vg, pool.pool, request.thin1, request.thin2, {
    onText: (text) => parser.push(text),
    deadlineMs: thinDeltaDeadlineMs(pool.lvm.tools.env),
    ...(request.signal ? { signal: request.signal } : {}),
  });
  const { dataBlockSize } = parser.end();
  // Two identical empty devices give a <diff> without ranges: only growth or shrink marks.
  const final: DeltaChunkMapper =
    mapper ?? new DeltaChunkMapper({ dataBlockSize, chunkSize: request.chunkSize, oldSize: request.oldSize, newSize: request.newSize });
  return { ranges: final.finish(), dataBlockSize, freedBytes: freedBlocks * dataBlockSize * 512 };
}

/** One byte per chunk of a volume of `size` bytes: 1 where `ranges` mark it. */
export function changedBytes(ranges: readonly ChunkRange[], size: number, chunkSize: number): Uint8Array {
  const count = Math.ceil(size / chunkSize);
  const out = new Uint8Array(count);
  for (const r of clipChunks(ranges, count)) out.fill(1, r.start, r.end);
  return out;
}
