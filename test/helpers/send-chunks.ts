// The store conformance suite's way to write chunk files as a real send does: the send pipeline
// (engine/send/chunk-pipeline.ts) with its worker pool, against the store under test. On a store with
// a local directory (LocalStore, i.e. `file:`) the workers write the chunk files themselves,
// beneath a descriptor of the archive directory (confined-fs); on any other store the pipeline
// hands each chunk file to store.writeNew (the destination helper's whole-file write). With
// `dedup`, a dedup index that never finds a match routes every write through the pool's write
// job instead (send --dedup on `file:`). Unencrypted, zlib: the test can decompress what landed.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decompressBounded, makeCodec } from '../../source-agent/archive/compression/index.js';
import { chunkDirName, chunkFileName } from '../../source-agent/archive/names.js';
import { type ChunkDedup, type PipelineResult, runChunkPipeline } from '../../source-agent/engine/send/chunk-pipeline.js';
import { ChunkPool } from '../../source-agent/engine/workers/chunk-pool.js';
import type { Store } from '../../source-agent/store/store.js';

export const SEND_CHUNK_BYTES = 65536;
/** Where a send puts a session's chunk files until the commit renames it (engine/send/commit.ts SESSION_TMP). */
export const SESSION_DIR = 'Vol_1/S-tmp';

/** The archive path of chunk `index`'s file in the session being sent. */
export function sentChunkPath(index: number): string {
  const address = index * SEND_CHUNK_BYTES;
  return `${SESSION_DIR}/${chunkDirName(address)}/${chunkFileName(address)}`;
}

/** A dedup index with nothing in it: every new chunk is written. */
const emptyDedup: ChunkDedup = {
  begin: () => {},
  find: async () => null,
  linkTo: async () => 'write',
  use: () => {},
};

/** Sends `volume` (a whole number of chunks, or a short last one) to `store` as a first session. */
export async function sendChunks(store: Store, volume: Buffer, options: { dedup?: boolean } = {}): Promise<PipelineResult> {
  const scratch = mkdtempSync(join(tmpdir(), 'skiff-send-chunks-'));
  const pool = new ChunkPool({ workers: 2 });
  try {
    pool.configure({ compression: 'zlib', level: 4, chunkSize: SEND_CHUNK_BYTES, crypto: null });
    const source = join(scratch, 'volume.img');
    writeFileSync(source, volume);
    const count = Math.ceil(volume.length / SEND_CHUNK_BYTES);
    return await runChunkPipeline({
      pool,
      sink: { localRootFd: store.localRootFd?.bind(store) ?? null, writeChunk: (path, data) => store.writeNew(path, data) },
      chunkSize: SEND_CHUNK_BYTES,
      volsize: volume.length,
      indexes: Array.from({ length: count }, (_, i) => i),
      sourcePath: source,
      previousHash: () => null,
      chunkPath: sentChunkPath,
      ctCounter: () => 0n,
      now: () => 1_700_000_000,
      dryRun: false,
      dedup: options.dedup ? emptyDedup : undefined,
    });
  } finally {
    await pool.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** A sent chunk file's bytes back as the chunk (zlib, as sendChunks compresses). */
export function unpackChunk(file: Buffer): Buffer {
  return decompressBounded(makeCodec('zlib', 4), file, SEND_CHUNK_BYTES);
}

/** A volume of `chunks` distinct, compressible chunks; chunk `zero` (if given) all zeros. */
export function testVolume(chunks: number, zero = -1): Buffer {
  const volume = Buffer.alloc(chunks * SEND_CHUNK_BYTES);
  for (let i = 0; i < chunks; i++) {
    if (i === zero) continue;
    volume.fill(`chunk ${i} of the test volume; `, i * SEND_CHUNK_BYTES, (i + 1) * SEND_CHUNK_BYTES);
  }
  return volume;
}
