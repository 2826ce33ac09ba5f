// A file's extent map (FIEMAP), as `filefrag -v` prints it, and the chunks in which two maps of
// reflink snapshots of one volume differ. Reflink snapshots share their unchanged extents, so a
// region that maps to the same physical blocks in both snapshots holds the same data; any other
// region is "changed" and gets read and hashed (over-marking is harmless: a chunk whose hash is
// unchanged is not stored again).

import { itemAt } from '../lookup.js';

export interface Extent {
  /** In blocks of `blockSize`. */
  logical: number;
  physical: number;
  length: number;
  flags: ReadonlySet<string>;
}

export interface ExtentMap {
  blockSize: number;
  sizeBytes: number;
  extents: Extent[];
}

export class ExtentMapError extends Error {}

const HEADER = / is (\d+) \((\d+) blocks? of (\d+) bytes\)$/;
const EXTENT = /^\s*\d+:\s*(\d+)\.\.\s*(\d+):\s*(\d+)\.\.\s*(\d+):\s*(\d+):(?:\s*(\d+):)?\s*(.*)$/;
const SUMMARY = /: (\d+) extents? found$/;

/** Parses `filefrag -v` output for one file. Refuses anything it does not fully understand. */
export function parseFilefrag(text: string): ExtentMap {
  let blockSize = 0;
  let sizeBytes = -1;
  let summary = -1;
  const extents: Extent[] = [];
  for (const line of text.split('\n')) {
    const header = HEADER.exec(line);
    if (line.startsWith('File size of ') && header) {
      sizeBytes = Number(header[1]);
      blockSize = Number(header[3]);
      continue;
    }
    const m = EXTENT.exec(line);
    if (m) {
      const field = (group: number) => Number(m[group]);
      const [logicalStart, logicalEnd, physicalStart, length] = [field(1), field(2), field(3), field(5)];
      if (logicalEnd - logicalStart + 1 !== length) throw new ExtentMapError(`inconsistent extent line: ${line.trim()}`);
      const flags = new Set(
        (m[7] ?? '')
          .split(',')
          .map((f) => f.trim())
          .filter((f) => f !== ''),
      );
      extents.push({ logical: logicalStart, physical: physicalStart, length, flags });
      continue;
    }
    const s = SUMMARY.exec(line);
    if (s) summary = Number(s[1]);
  }
  if (blockSize <= 0 || sizeBytes < 0) throw new ExtentMapError('no "File size" line in filefrag output');
  // The summary counts extents after merging physically contiguous ones (XFS), so it may be
  // smaller than the number of lines; it must be there, as proof the listing was complete.
  if (summary < 0) throw new ExtentMapError('filefrag output ends early (no "extents found" line)');
  extents.sort((a, b) => a.logical - b.logical);
  for (let i = 1; i < extents.length; i++) {
    const prev = itemAt(extents, i - 1);
    if (prev.logical + prev.length > itemAt(extents, i).logical) throw new ExtentMapError('overlapping extents');
  }
  return { blockSize, sizeBytes, extents };
}

/** Extents whose physical location says nothing reliable about their content. */
const UNRELIABLE = ['unknown_loc', 'delalloc', 'inline', 'data_inline', 'not_aligned', 'encrypted', 'unknown'];

function reliable(e: Extent): boolean {
  return !UNRELIABLE.some((flag) => e.flags.has(flag));
}

function extentAt(extents: readonly Extent[], from: number, block: number): { index: number; extent: Extent | null } {
  let i = from;
  while (i < extents.length && itemAt(extents, i).logical + itemAt(extents, i).length <= block) i++;
  const e = extents[i];
  return { index: i, extent: e && e.logical <= block ? e : null };
}

/**
 * Btrfs compresses at most 128 KiB of file data into one extent (BTRFS_MAX_UNCOMPRESSED), and a
 * file's reference to it covers `offset .. offset + length` of that data.
 */
const MAX_COMPRESSED_EXTENT_BYTES = 128 * 1024;

/** True when both snapshots hold the same data at `block` because they share the extent. */
function sameData(a: Extent | null, b: Extent | null, blockSize: number): boolean {
  if (!a || !b) return !a && !b; // both holes: both read as zeros
  if (!reliable(a) || !reliable(b)) return false;
  if (a.flags.has('unwritten') !== b.flags.has('unwritten')) return false;
  if (a.flags.has('encoded') || b.flags.has('encoded')) {
    // For a compressed extent FIEMAP gives the extent's start, not where in its data the file's
    // reference begins: two references to different parts of one extent look the same (a clone
    // or dedupe of part of a compressed extent). Only a reference of the largest size possible
    // must start at the beginning; anything shorter is read and hashed.
    return (
      a.logical === b.logical && a.length === b.length && a.physical === b.physical && a.length * blockSize === MAX_COMPRESSED_EXTENT_BYTES
    );
  }
  return a.physical - a.logical === b.physical - b.logical;
}

/**
 * Marks, in a bitmap of `ceil(newSize / chunkSize)` chunks, every chunk that may differ between
 * the old and the new snapshot. Chunks beyond the old size are not marked here: the caller reads
 * every chunk past the old end anyway.
 */
export function changedChunks(oldMap: ExtentMap, newMap: ExtentMap, chunkSize: number, newSize: number): Uint8Array {
  if (oldMap.blockSize !== newMap.blockSize) throw new ExtentMapError('block sizes differ');
  const bs = newMap.blockSize;
  if (chunkSize % bs !== 0) throw new ExtentMapError(`chunk size ${chunkSize} is not a multiple of the block size ${bs}`);
  const chunkCount = Math.ceil(newSize / chunkSize);
  const changed = new Uint8Array(chunkCount);
  const endBlock = Math.ceil(Math.min(newSize, oldMap.sizeBytes) / bs);
  const cuts = new Set<number>([0, endBlock]);
  for (const e of [...oldMap.extents, ...newMap.extents]) {
    if (e.logical < endBlock) cuts.add(e.logical);
    if (e.logical + e.length < endBlock) cuts.add(e.logical + e.length);
  }
  const bounds = [...cuts].sort((a, b) => a - b);
  let oi = 0;
  let ni = 0;
  const blocksPerChunk = chunkSize / bs;
  for (let k = 0; k + 1 < bounds.length; k++) {
    const start = itemAt(bounds, k);
    const end = itemAt(bounds, k + 1);
    const o = extentAt(oldMap.extents, oi, start);
    const n = extentAt(newMap.extents, ni, start);
    oi = o.index;
    ni = n.index;
    if (sameData(o.extent, n.extent, bs)) continue;
    const first = Math.floor(start / blocksPerChunk);
    const last = Math.min(chunkCount - 1, Math.floor((end - 1) / blocksPerChunk));
    for (let c = first; c <= last; c++) changed[c] = 1;
  }
  return changed;
}
