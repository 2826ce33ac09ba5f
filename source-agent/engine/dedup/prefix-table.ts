// The compact storage of the dedup index: one entry per indexed chunk, 16 bytes, in a single
// Uint32Array of 4-word records:
//   [0] hash bytes 0..3 (big-endian)   [1] hash bytes 4..7   — the 8-byte hash prefix
//   [2] session id (index into the index's session table)
//   [3] chunk index within the volume (address / chunk size)
// The prefix only narrows the search: entries are always confirmed against the full hash
// (dedup-index.ts), so two chunks whose hashes share a prefix are never confused.

// Indexes into these arrays are computed from record counts and STRIDE, so every read lands in
// range: the hot loops say so with `!` rather than a branch per word.

export const STRIDE = 4;

/** The first 8 bytes of a hash as two 32-bit words. */
export function prefixOf(hash: Uint8Array): [hi: number, lo: number] {
  const view = new DataView(hash.buffer, hash.byteOffset, 8);
  return [view.getUint32(0), view.getUint32(4)];
}

/** A growable array of records, in insertion order. */
export class RecordList {
  records = new Uint32Array(STRIDE * 1024);
  count = 0;

  push(hi: number, lo: number, session: number, chunk: number): void {
    if ((this.count + 1) * STRIDE > this.records.length) {
      const bigger = new Uint32Array(this.records.length * 2);
      bigger.set(this.records);
      this.records = bigger;
    }
    const at = this.count * STRIDE;
    this.records[at] = hi;
    this.records[at + 1] = lo;
    this.records[at + 2] = session;
    this.records[at + 3] = chunk;
    this.count++;
  }

  /** The records trimmed to their count (the spare capacity is given back). */
  take(): Uint32Array {
    const out = this.records.slice(0, this.count * STRIDE);
    this.records = new Uint32Array(0);
    return out;
  }
}

/**
 * Sorts records by prefix, stably (equal prefixes keep their insertion order, which is the
 * order of precedence). LSD radix sort, four 16-bit digits: linear time, and no comparator
 * calls. Needs a second buffer of the same size while it runs.
 */
export function sortByPrefix(records: Uint32Array): Uint32Array {
  const count = records.length / STRIDE;
  if (count < 2) return records;
  let from: Uint32Array = records;
  let to: Uint32Array = new Uint32Array(records.length);
  const counts = new Uint32Array(65536 + 1);
  // Least significant digit first: lo low, lo high, hi low, hi high.
  for (const [word, shift] of [
    [1, 0],
    [1, 16],
    [0, 0],
    [0, 16],
  ] as const) {
    counts.fill(0);
    for (let i = 0; i < count; i++) {
      const digit = (from[i * STRIDE + word]! >>> shift) & 0xffff;
      counts[digit + 1] = counts[digit + 1]! + 1;
    }
    for (let d = 1; d <= 65536; d++) counts[d] = counts[d]! + counts[d - 1]!;
    for (let i = 0; i < count; i++) {
      const digit = (from[i * STRIDE + word]! >>> shift) & 0xffff;
      const at = counts[digit]! * STRIDE;
      counts[digit] = counts[digit]! + 1;
      const src = i * STRIDE;
      to[at] = from[src]!;
      to[at + 1] = from[src + 1]!;
      to[at + 2] = from[src + 2]!;
      to[at + 3] = from[src + 3]!;
    }
    const swap = from;
    from = to;
    to = swap;
  }
  return from;
}

/** The first record position whose prefix is ≥ (hi, lo), in records sorted by prefix. */
export function lowerBound(records: Uint32Array, hi: number, lo: number): number {
  let low = 0;
  let high = records.length / STRIDE;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const h = records[mid * STRIDE]!;
    const l = records[mid * STRIDE + 1]!;
    if (h < hi || (h === hi && l < lo)) low = mid + 1;
    else high = mid;
  }
  return low;
}

const EMPTY = 0xffffffff;

/**
 * Records added during a send (chunks written by this run), in an open-addressing hash table on
 * the prefix (linear probing, at most half full). Several records may share a prefix.
 */
export class AddedTable {
  private table = new Uint32Array(STRIDE * 1024).fill(EMPTY);
  private size = 0;

  get capacity(): number {
    return this.table.length / STRIDE;
  }

  add(hi: number, lo: number, session: number, chunk: number): number {
    if ((this.size + 1) * 2 > this.capacity) this.grow();
    this.size++;
    return this.place(this.table, hi, lo, session, chunk);
  }

  /** Slots holding records with this prefix, in probe order. */
  *slotsFor(hi: number, lo: number): Generator<number> {
    const mask = this.capacity - 1;
    for (let slot = (hi ^ lo) & mask; ; slot = (slot + 1) & mask) {
      const at = slot * STRIDE;
      if (this.table[at + 2] === EMPTY) return;
      if (this.table[at] === hi && this.table[at + 1] === lo) yield slot;
    }
  }

  session(slot: number): number {
    return this.table[slot * STRIDE + 2]!;
  }

  chunk(slot: number): number {
    return this.table[slot * STRIDE + 3]!;
  }

  setLocation(slot: number, session: number, chunk: number): void {
    this.table[slot * STRIDE + 2] = session;
    this.table[slot * STRIDE + 3] = chunk;
  }

  private place(table: Uint32Array, hi: number, lo: number, session: number, chunk: number): number {
    const mask = table.length / STRIDE - 1;
    let slot = (hi ^ lo) & mask;
    while (table[slot * STRIDE + 2] !== EMPTY) slot = (slot + 1) & mask;
    const at = slot * STRIDE;
    table[at] = hi;
    table[at + 1] = lo;
    table[at + 2] = session;
    table[at + 3] = chunk;
    return slot;
  }

  private grow(): void {
    const old = this.table;
    const table = new Uint32Array(old.length * 2).fill(EMPTY);
    for (let at = 0; at < old.length; at += STRIDE) {
      if (old[at + 2] !== EMPTY) this.place(table, old[at]!, old[at + 1]!, old[at + 2]!, old[at + 3]!);
    }
    this.table = table;
  }
}
