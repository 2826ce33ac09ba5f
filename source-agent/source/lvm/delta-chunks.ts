// Which archive chunks a thin_delta result touches.
//
// thin_delta speaks in the pool's blocks (data_block_size sectors: 64 KiB..1 GiB); the archive in
// chunks (chunksize bytes, usually 256 KiB). Neither divides the other in general, so the mapping
// goes through byte offsets: a changed block marks every chunk it overlaps. Every kind except
// <same> marks: `different` and `right_only` hold new data, and `left_only` blocks were unmapped
// (discarded, or cut off by a shrink) and now read as zeros — also a change.
//
// Sizes: `oldSize` is the volume size the archive last saw, `newSize` the new snapshot's. Ranges
// are clipped at the larger of the two, like Wyng: marks between the sizes after a shrink are kept
// because a deltamap accumulates over several monitor runs and the volume may grow again; the
// sender clips to the new size (clipChunks). Growth marks every chunk past the old size, and a
// size change also marks the chunk that held the old or holds the new partial end, whose stored
// length changes (over-marking costs a read and a hash, never a wrong backup).

import type { ThinDeltaRange } from './thin-delta-xml.js';

/** Archive chunk indexes [start, end). */
export interface ChunkRange {
  start: number;
  end: number;
}

export interface DeltaGeometry {
  /** Pool block size in 512-byte sectors (thin_delta's data_block_size). */
  dataBlockSize: number;
  /** Archive chunk size in bytes. */
  chunkSize: number;
  /** Volume size in bytes that the archive last saw, and of the new snapshot. */
  oldSize: number;
  newSize: number;
}

/** Collects ranges as thin_delta streams them (ascending), then adds growth/shrink marks. */
export class DeltaChunkMapper {
  readonly #blockBytes: number;
  readonly #geometry: DeltaGeometry;
  readonly #ceiling: number;
  readonly #ranges: ChunkRange[] = [];

  constructor(geometry: DeltaGeometry) {
    const { dataBlockSize, chunkSize, oldSize, newSize } = geometry;
    if (!Number.isSafeInteger(dataBlockSize) || dataBlockSize < 1) throw new RangeError(`bad pool block size ${dataBlockSize}`);
    if (!Number.isSafeInteger(chunkSize) || chunkSize < 512 || chunkSize % 512 !== 0) throw new RangeError(`bad chunk size ${chunkSize}`);
    if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize) || oldSize < 0 || newSize < 0)
      throw new RangeError('bad volume size');
    this.#blockBytes = dataBlockSize * 512;
    this.#geometry = geometry;
    this.#ceiling = Math.max(oldSize, newSize);
  }

  add(range: ThinDeltaRange): void {
    if (range.kind === 'same') return;
    const start = range.begin * this.#blockBytes;
    if (start >= this.#ceiling) return;
    const end = Math.min((range.begin + range.length) * this.#blockBytes, this.#ceiling);
    this.#mark(Math.floor(start / this.#geometry.chunkSize), Math.ceil(end / this.#geometry.chunkSize));
  }

  /** Sorted, merged chunk ranges. */
  finish(): ChunkRange[] {
    const { chunkSize, oldSize, newSize } = this.#geometry;
    if (newSize > oldSize) this.#mark(Math.floor(oldSize / chunkSize), Math.ceil(newSize / chunkSize));
    if (newSize < oldSize && newSize % chunkSize !== 0) this.#mark(Math.floor(newSize / chunkSize), Math.ceil(newSize / chunkSize));
    return merge(this.#ranges);
  }

  #mark(start: number, end: number): void {
    if (end <= start) return;
    const last = this.#ranges[this.#ranges.length - 1];
    // thin_delta's ranges ascend, so most marks extend the last range.
    if (last && start >= last.start && start <= last.end) last.end = Math.max(last.end, end);
    else this.#ranges.push({ start, end });
  }
}

export function chunksForDelta(ranges: Iterable<ThinDeltaRange>, geometry: DeltaGeometry): ChunkRange[] {
  const mapper = new DeltaChunkMapper(geometry);
  for (const range of ranges) mapper.add(range);
  return mapper.finish();
}

/** Only the chunks of a volume of `chunkCount` chunks (what a send of the new snapshot reads). */
export function clipChunks(ranges: readonly ChunkRange[], chunkCount: number): ChunkRange[] {
  return ranges.filter((r) => r.start < chunkCount).map((r) => ({ start: r.start, end: Math.min(r.end, chunkCount) }));
}

export function* chunkIndexes(ranges: Iterable<ChunkRange>): Generator<number> {
  for (const r of ranges) for (let i = r.start; i < r.end; i++) yield i;
}

export function countChunks(ranges: Iterable<ChunkRange>): number {
  let n = 0;
  for (const r of ranges) n += r.end - r.start;
  return n;
}

function merge(ranges: ChunkRange[]): ChunkRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const out: ChunkRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}
