// The delta step of one send or monitor run for every thin volume at once (behavior spec §3.2
// steps 1–3): for each pool, in sorted order, the metadata snapshot is reserved ONCE, thin_delta
// runs for every volume of that pool, and the reservation is released ONCE — however the step
// ends (withMetadataSnap). A pool holds one reservation at a time and dm-thin copies metadata
// for it, so reserving per volume would cost a reserve/release pair per volume and leave windows
// in which another program's reservation makes ours fail with EBUSY.
//
// Volumes register their request while they are prepared (snapshots taken); acquire() runs after
// every volume is prepared and fills in each entry's delta. What a volume does with its delta
// (deltamap, rotation) happens after the release, so the reservation is held only for thin_delta.

import { type DeltaRequest, deltaOnReservedSnap, type LvmDelta, withMetadataSnap } from './lvm-delta.js';
import type { LvmPool } from './lvm-pool.js';

/** One volume's pending delta; `done` once acquire() handed it over. */
interface PendingDelta {
  readonly pool: LvmPool;
  readonly request: DeltaRequest;
  /** What the volume does with its delta (after the release). */
  readonly onDelta: (delta: LvmDelta) => Promise<void>;
  done: boolean;
}

export class LvmDeltaBatch {
  private readonly entries: PendingDelta[] = [];

  /** Registers a volume's delta for the next acquire(); `onDelta` gets it after the release. */
  add(pool: LvmPool, request: DeltaRequest, onDelta: (delta: LvmDelta) => Promise<void>): void {
    this.entries.push({ pool, request, onDelta, done: false });
  }

  /** Whether any volume waits for a delta (Wyng prints "Acquiring deltas." only then). */
  get size(): number {
    return this.entries.filter((e) => !e.done).length;
  }

  /** Runs every pending delta: one reservation per pool, pools in sorted order. */
  async acquire(): Promise<void> {
    const byPool = new Map<string, PendingDelta[]>();
    for (const entry of this.entries) {
      if (entry.done) continue;
      const key = `${entry.pool.vg}/${entry.pool.pool}`;
      byPool.set(key, [...(byPool.get(key) ?? []), entry]);
    }
    for (const key of [...byPool.keys()].sort()) {
      const group = byPool.get(key) ?? [];
      const first = group[0];
      if (!first) continue;
      const deltas = await withMetadataSnap(first.pool, async () => {
        const out: LvmDelta[] = [];
        for (const entry of group) out.push(await deltaOnReservedSnap(entry.pool, entry.request));
        return out;
      });
      for (const [i, entry] of group.entries()) {
        const delta = deltas[i];
        if (!delta) throw new Error('thin_delta result missing');
        entry.done = true;
        await entry.onDelta(delta);
      }
    }
  }
}
