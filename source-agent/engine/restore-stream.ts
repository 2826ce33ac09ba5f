// Reading chunks from the archive in address order with every check: a bounded read-ahead
// overlaps the reads with the decryption, hashing and decompression of earlier chunks, and each
// chunk is decompressed into one reused buffer. Memory is bounded by the read-ahead window, not
// by the volume size.
//
// Two lists of chunks are read this way: a volume as it was at one session (the merged manifest:
// receive, verify) and the chunks one session stored itself (arch-check).

import { type Archive, objectReadError, type SessionRecord, type Volume } from '../archive/archive.js';
import { HASH_BYTES } from '../archive/hash.js';
import type { SessionManifest } from '../archive/manifest.js';
import { MergedManifest, ZERO_CHUNK } from '../archive/merged-manifest.js';
import { chunkFileName, layout } from '../archive/names.js';
import { IntegrityError, InterruptedError } from '../errors.js';

/** The chunks to read, in ascending address order. */
export interface ChunkList {
  readonly length: number;
  address(i: number): number;
  /** Archive path of the chunk file, or null for an all-zero chunk (no file). */
  path(i: number): string | null;
  hash(i: number): Uint8Array;
  /** Decompressed size. */
  size(i: number): number;
}

export interface RestorePlan {
  readonly volume: Volume;
  readonly session: SessionRecord;
  readonly merged: MergedManifest;
  readonly chunks: ChunkList;
  /** Stored mfcs that differs from the merged manifest's CRC (a known Wyng bug can cause it). */
  readonly mfcsMismatch: { stored: number; computed: number } | null;
}

/** Builds the merged manifest of `volume` at session `index`, newest manifest first. */
export async function planRestore(archive: Archive, volume: Volume, index: number): Promise<RestorePlan> {
  const session = volume.sessions[index] as SessionRecord;
  const merged = new MergedManifest(session.info.volsize, archive.chunkSize);
  for (let i = index; i >= 0 && !merged.complete; i--) {
    merged.addOlder(await archive.loadManifest(volume.vid, volume.sessions[i] as SessionRecord), i);
  }
  const gap = merged.firstUncovered();
  if (gap >= 0) {
    throw new IntegrityError(
      layout.sessionDir(volume.vid, session.name),
      `no session up to this one lists chunk ${chunkFileName(gap * archive.chunkSize)} (incomplete manifests)`,
    );
  }
  const computed = merged.crc();
  const stored = session.info.mfcs;
  const chunks: ChunkList = {
    length: merged.chunkCount,
    address: (i) => i * archive.chunkSize,
    path: (i) => {
      const source = merged.source[i] as number;
      return source === ZERO_CHUNK
        ? null
        : layout.chunk(volume.vid, (volume.sessions[source] as SessionRecord).name, i * archive.chunkSize);
    },
    hash: (i) => merged.hashAt(i),
    size: (i) => merged.chunkBytes(i),
  };
  return { volume, session, merged, chunks, mfcsMismatch: stored !== null && stored !== computed ? { stored, computed } : null };
}

/** The data chunks a session stored itself (its manifest's non-zero entries). */
export function sessionChunkList(archive: Archive, volume: Volume, session: SessionRecord, manifest: SessionManifest): ChunkList {
  const entries: number[] = [];
  for (let n = 0; n < manifest.count; n++) if (!manifest.isZero[n]) entries.push(n);
  const chunkSize = archive.chunkSize;
  const addressOf = (i: number) => (manifest.chunkIndexes[entries[i] as number] as number) * chunkSize;
  return {
    length: entries.length,
    address: addressOf,
    path: (i) => layout.chunk(volume.vid, session.name, addressOf(i)),
    hash: (i) => manifest.hashes.subarray((entries[i] as number) * HASH_BYTES, ((entries[i] as number) + 1) * HASH_BYTES),
    size: (i) => Math.min(chunkSize, session.info.volsize - addressOf(i)),
  };
}

export interface RestoreChunk {
  readonly index: number;
  readonly address: number;
  /** The chunk's bytes (a view into a reused buffer, valid until the next chunk), or null for a zero chunk. */
  readonly data: Buffer | null;
  readonly size: number;
  /** Size of the chunk file read from the archive (0 for zero chunks). */
  readonly fileBytes: number;
  /** Set when skipCorrupt turned a bad chunk into a skipped one. */
  readonly corrupt: IntegrityError | null;
}

export interface ReadOptions {
  signal?: AbortSignal | undefined;
  /** Skip (and report) chunks that fail their checks instead of stopping. */
  skipCorrupt?: boolean;
  /** Chunk files read ahead of the one being checked. */
  readAhead?: number;
}

export async function* readChunks(archive: Archive, list: ChunkList, options: ReadOptions = {}): AsyncGenerator<RestoreChunk> {
  // A remote destination answers each read a round trip later, so more reads are kept in
  // flight there (about 16 MiB); a local one needs only enough to overlap disk latency.
  const remoteWindow = Math.max(8, Math.floor((16 * 1024 * 1024) / archive.maxChunkFileBytes));
  const window = Math.max(1, options.readAhead ?? (archive.store.localPath ? 8 : remoteWindow));
  const out = Buffer.allocUnsafe(archive.chunkSize);
  const scratch = Buffer.allocUnsafe(archive.maxChunkFileBytes);

  // A ring of read slots, each with its own buffer, filled with the next data chunks in order.
  let nextToRead = 0;
  const nextDataIndex = (): number => {
    while (nextToRead < list.length && list.path(nextToRead) === null) nextToRead++;
    return nextToRead < list.length ? nextToRead++ : -1;
  };
  interface Slot {
    index: number;
    buffer: Buffer;
    pending: Promise<number>;
  }
  const startRead = (index: number, buffer: Buffer): Slot => {
    const pending = archive.store.readInto(list.path(index) as string, buffer);
    pending.catch(() => {}); // awaited later; this only keeps an early failure from going unhandled
    return { index, buffer, pending };
  };
  const slots: Slot[] = [];
  for (let i = 0; i < window; i++) {
    const index = nextDataIndex();
    if (index < 0) break;
    slots.push(startRead(index, Buffer.allocUnsafe(archive.maxChunkFileBytes)));
  }

  let head = 0;
  for (let index = 0; index < list.length; index++) {
    if (options.signal?.aborted) throw new InterruptedError('Interrupted.');
    const address = list.address(index);
    const size = list.size(index);
    const path = list.path(index);
    if (path === null) {
      yield { index, address, data: null, size, fileBytes: 0, corrupt: null };
      continue;
    }
    const slot = slots[head] as Slot;
    if (slot.index !== index) throw new Error(`read-ahead out of step at chunk ${index}`);
    const data = out.subarray(0, size);
    let fileBytes = 0;
    let corrupt: IntegrityError | null = null;
    try {
      try {
        fileBytes = await slot.pending;
      } catch (error) {
        throw objectReadError(path, error);
      }
      archive.openChunk(path, slot.buffer.subarray(0, fileBytes), list.hash(index), data, scratch);
    } catch (error) {
      if (!(error instanceof IntegrityError && options.skipCorrupt)) throw error;
      corrupt = error;
    }
    const next = nextDataIndex();
    if (next >= 0) slots[head] = startRead(next, slot.buffer);
    head = (head + 1) % slots.length;
    yield { index, address, data: corrupt ? null : data, size, fileBytes, corrupt };
  }
}
