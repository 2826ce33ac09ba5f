// Reading chunks from the archive in address order with every check: a bounded read-ahead
// overlaps the reads with the decryption, hashing and decompression of earlier chunks, which run
// on one worker thread per core for all but short lists (decode-pool.ts), and each chunk is
// decoded into its read slot. Memory is bounded by the read-ahead window, not by the volume size.
//
// Two lists of chunks are read this way: a volume as it was at one session (the merged manifest:
// receive, verify) and the chunks one session stored itself (arch-check). The common receive (a
// `file:` archive into a plain file or block device) does not come through here: its workers
// read and write the chunks themselves (direct-receive.ts), with the same checks.

import { availableParallelism } from 'node:os';
import { type Archive, objectReadError, type SessionRecord, type Volume } from '../../archive/archive.js';
import { HASH_BYTES } from '../../archive/hash.js';
import { layout } from '../../archive/layout.js';
import type { SessionManifest } from '../../archive/manifest.js';
import { MergedManifest, ZERO_CHUNK } from '../../archive/merged-manifest.js';
import { chunkFileName } from '../../archive/names.js';
import { IntegrityError, InterruptedError } from '../../errors.js';
import { itemAt } from '../../lookup.js';
import { DecodePool, type DecodeSettings } from '../workers/decode-pool.js';
import { TEST_READ_DELAY_ON, testReadDelay } from '../workers/test-read-delay.js';

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
  const session = itemAt(volume.sessions, index);
  const merged = new MergedManifest(session.info.volsize, archive.chunkSize);
  for (let i = index; i >= 0 && !merged.complete; i--) {
    merged.addOlder(await archive.loadManifest(volume.vid, itemAt(volume.sessions, i)), i);
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
      const source = merged.source[i]!;
      return source === ZERO_CHUNK ? null : layout.chunk(volume.vid, itemAt(volume.sessions, source).name, i * archive.chunkSize);
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
  const addressOf = (i: number) => manifest.chunkIndexes[itemAt(entries, i)]! * chunkSize;
  return {
    length: entries.length,
    address: addressOf,
    path: (i) => layout.chunk(volume.vid, session.name, addressOf(i)),
    hash: (i) => manifest.hashes.subarray(itemAt(entries, i) * HASH_BYTES, (itemAt(entries, i) + 1) * HASH_BYTES),
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
  /**
   * Decode workers: 0 decodes on the calling thread. By default lists of at least
   * WORKERS_FROM_CHUNKS chunks use one worker per core, shorter ones none (a worker costs
   * tens of milliseconds to start).
   */
  workers?: number;
  /**
   * A decoder the caller opened (openDecoder) and closes, for reading many lists without
   * starting workers for each; its slots are the read-ahead. Overrides the two options above.
   */
  decoder?: ChunkDecoder | undefined;
}

/** Lists shorter than this are decoded on the calling thread unless `workers` says otherwise. */
export const WORKERS_FROM_CHUNKS = 64;

/**
 * Where chunk files are read to and decoded: slots of (chunk file, chunk) buffers, decoded on
 * worker threads or on this one. A decode resolves to what is wrong with the chunk, or null.
 */
export interface ChunkDecoder {
  readonly slotCount: number;
  fileView(slot: number): Buffer;
  chunkView(slot: number, size: number): Buffer;
  decode(slot: number, fileLength: number, size: number, hash: Uint8Array): Promise<string | null>;
  close(): Promise<void>;
}

function threadDecoder(archive: Archive, slotCount: number): ChunkDecoder {
  const files = Array.from({ length: slotCount }, () => Buffer.allocUnsafe(archive.maxChunkFileBytes));
  const chunks = Array.from({ length: slotCount }, () => Buffer.allocUnsafe(archive.chunkSize));
  const scratch = Buffer.allocUnsafe(archive.maxChunkFileBytes);
  return {
    slotCount,
    fileView: (slot) => itemAt(files, slot),
    chunkView: (slot, size) => itemAt(chunks, slot).subarray(0, size),
    decode: async (slot, fileLength, size, hash) => {
      try {
        archive.openChunk('', itemAt(files, slot).subarray(0, fileLength), hash, itemAt(chunks, slot).subarray(0, size), scratch);
        return null;
      } catch (error) {
        if (error instanceof IntegrityError) return error.detail;
        throw error;
      }
    },
    close: async () => {},
  };
}

/** What a decode worker needs to know of the archive. */
export function decodeSettingsOf(archive: Archive): DecodeSettings {
  return {
    compression: archive.ini.compression,
    level: archive.ini.compressionLevel,
    dataKey: archive.keys?.dataKey ?? null,
    manifestHashKey: archive.keys?.manifestHashKey ?? null,
    fileBytes: archive.maxChunkFileBytes,
    chunkBytes: archive.chunkSize,
  };
}

function workerDecoder(archive: Archive, slotCount: number, workers: number): ChunkDecoder {
  const pool = new DecodePool(decodeSettingsOf(archive), slotCount, workers);
  return {
    slotCount,
    fileView: (slot) => pool.fileView(slot),
    chunkView: (slot, size) => pool.chunkView(slot, size),
    decode: async (slot, fileLength, size, hash) => {
      const result = await pool.decode({ slot, fileLength, size, hash });
      if (result.error) throw new Error(`decode worker: ${result.error}`);
      return result.integrity;
    },
    close: () => pool.close(),
  };
}

/** Reads kept in flight by default. */
function readAheadFor(archive: Archive, workers: number): number {
  // A remote destination answers each read a round trip later, so more reads are kept in
  // flight there (about 16 MiB); a local one needs only enough to overlap disk latency and
  // keep every decode worker busy.
  if (!archive.store.localPath) return Math.max(8, Math.floor((16 * 1024 * 1024) / archive.maxChunkFileBytes));
  return Math.max(8, 4 * workers);
}

/** A decoder with `workers` threads (0: the calling thread) and `slots` reads in flight. */
export function openDecoder(archive: Archive, workers = availableParallelism(), slots = readAheadFor(archive, workers)): ChunkDecoder {
  const slotCount = Math.max(1, slots);
  return workers > 0 ? workerDecoder(archive, slotCount, workers) : threadDecoder(archive, slotCount);
}

export async function* readChunks(archive: Archive, list: ChunkList, options: ReadOptions = {}): AsyncGenerator<RestoreChunk> {
  const workers = options.workers ?? (list.length >= WORKERS_FROM_CHUNKS ? availableParallelism() : 0);
  const decoder = options.decoder ?? openDecoder(archive, workers, options.readAhead ?? readAheadFor(archive, workers));
  const own = options.decoder ? null : decoder;
  const window = decoder.slotCount;

  // A ring of slots, each holding the read and decode of the next data chunk in order. A slot
  // is given its next chunk once the consumer has asked for the chunk after the one it holds.
  let nextToRead = 0;
  const nextDataIndex = (): number => {
    while (nextToRead < list.length && list.path(nextToRead) === null) nextToRead++;
    return nextToRead < list.length ? nextToRead++ : -1;
  };
  interface Job {
    index: number;
    slot: number;
    read: Promise<number>;
    decoded: Promise<string | null>;
  }
  const start = (index: number, slot: number): Job => {
    const path = list.path(index);
    // nextDataIndex() gives only chunks that have a file.
    if (path === null) throw new Error(`read-ahead of zero chunk ${index}`);
    const read = archive.store.readInto(path, decoder.fileView(slot));
    const decoded = read.then((fileLength) => decoder.decode(slot, fileLength, list.size(index), list.hash(index)));
    // Both are awaited in order later; this only keeps an early failure from going unhandled.
    decoded.catch(() => {});
    return { index, slot, read, decoded };
  };
  const ring: Job[] = [];
  try {
    for (let slot = 0; slot < window; slot++) {
      const index = nextDataIndex();
      if (index < 0) break;
      ring.push(start(index, slot));
    }

    let head = 0;
    for (let index = 0; index < list.length; index++) {
      if (TEST_READ_DELAY_ON) await testReadDelay(1, options.signal);
      if (options.signal?.aborted) throw new InterruptedError();
      const address = list.address(index);
      const size = list.size(index);
      const path = list.path(index);
      if (path === null) {
        yield { index, address, data: null, size, fileBytes: 0, corrupt: null };
        continue;
      }
      const job = itemAt(ring, head);
      if (job.index !== index) throw new Error(`read-ahead out of step at chunk ${index}`);
      let fileBytes: number;
      try {
        fileBytes = await job.read;
      } catch (error) {
        throw objectReadError(path, error);
      }
      const problem = await job.decoded;
      let corrupt: IntegrityError | null = null;
      if (problem !== null) {
        corrupt = new IntegrityError(path, problem);
        if (!options.skipCorrupt) throw corrupt;
      }
      yield { index, address, data: corrupt ? null : decoder.chunkView(job.slot, size), size, fileBytes, corrupt };
      // The consumer is done with the chunk (it asked for the next one): its slot takes the next.
      const next = nextDataIndex();
      if (next >= 0) ring[head] = start(next, job.slot);
      head = (head + 1) % ring.length;
    }
  } finally {
    // Leaving early (a failure, or the consumer stopped): reads and decodes still running must
    // finish before the slots are used again by the next list of a shared decoder.
    await Promise.allSettled(ring.map((job) => job.decoded));
    await own?.close();
  }
}
