// The send workers take their chunks in batches (engine/send/chunk-pipeline.ts) and read them
// from the source themselves. What batching must not change: a ct-nonce archive's counters are
// never used twice (each batch reserves one a chunk, consecutive), a batch that ends past the
// volume's end (a short last chunk) sends its bytes exactly, an incremental finds the unchanged
// chunks at every position of a batch, on file: (the workers write the chunk files) and on any
// other store (the chunk files come back to the main thread). And a source that cannot be read
// ends the pipeline with one clean error, not an internal one.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CIPHER_MODES } from '../../source-agent/archive/crypto/cipher-modes.js';
import { createArchive } from '../../source-agent/engine/maintain/arch-init.js';
import { runChunkPipeline } from '../../source-agent/engine/send/chunk-pipeline.js';
import { ChunkPool } from '../../source-agent/engine/workers/chunk-pool.js';
import { ALIGN, pageAlignedBuffer } from '../../source-agent/engine/workers/source-reader.js';
import { FatalError, InterruptedError } from '../../source-agent/errors.js';
import { LocalStore } from '../../source-agent/store/local-store.js';
import type { Store } from '../../source-agent/store/store.js';
import { scratchDir, useKdfMemoHere } from '../helpers/cli.js';
import { FailingStore } from '../helpers/failing-store.js';
import { sendChunks, testVolume } from '../helpers/send-chunks.js';
import { restoreAll } from '../helpers/session-archive.js';
import { keystream, makeVolume, writeAt } from '../helpers/volumes.js';
import { openArchive, sendImportAt } from '../helpers/write-context.js';

// Not about the key derivation: the archive's scrypt comes from the test memo (helpers/cli.ts).
useKdfMemoHere();

const scratch = scratchDir('skiff-send-batches-');
after(scratch.cleanup);
/** 64 KiB chunks: 16 to a batch; 45 chunks and a short one make three batches, the last one short. */
const CHUNK = 65536;
const PASSPHRASE = 'batches';

/** Chunk files (x + 16 hex digits) under `root`, by session directory (S_…). */
function chunkFilesBySession(root: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const path of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
    if (!/(^|\/)x[0-9a-f]{16}$/.test(path)) continue;
    const session = path.split('/').find((part) => part.startsWith('S_')) ?? '?';
    out.set(session, [...(out.get(session) ?? []), join(root, path)]);
  }
  return out;
}

/** A new archive (XChaCha20 with ct counters, zstd:3, CHUNK) in `dir`/archive; returns its path. */
async function newArchive(dir: string, storeAt: (root: string) => Store = (root) => new LocalStore(root)): Promise<string> {
  const root = join(dir, 'archive');
  mkdirSync(root, { recursive: true });
  await createArchive(storeAt(root), {
    mode: CIPHER_MODES['32'],
    compression: 'zstd',
    level: 3,
    chunkSize: CHUNK,
    passphrase: async () => Buffer.from(PASSPHRASE),
    now: () => Date.now() / 1000,
  });
  return root;
}

async function sendAt(store: Store, source: string, at: Date): Promise<void> {
  // The archive is opened again for each send, as each run of the command opens it.
  await sendImportAt(await openArchive(store, PASSPHRASE), 'v.img', source, at);
}

describe('send in batches', () => {
  const stores: Record<string, (root: string) => Store> = {
    'file: (the workers write the chunk files)': (root) => new LocalStore(root),
    'another store (the chunk files come back to the main thread)': (root) => new FailingStore(new LocalStore(root)),
  };
  for (const [title, storeAt] of Object.entries(stores)) {
    it(`ct counters stay unique, a short last batch is exact, unchanged chunks are found: ${title}`, async () => {
      const dir = join(scratch.dir, title.startsWith('file') ? 'direct' : 'buffers');
      const root = await newArchive(dir, storeAt);
      const source = join(dir, 'v.img');
      const first = makeVolume('batches', CHUNK, 45, 1000);
      writeFileSync(source, first);
      await sendAt(storeAt(root), source, new Date(Date.UTC(2026, 11, 1, 12)));

      // Change one chunk in each batch, at different positions, and the short last chunk.
      const changed = [1, 17, 34, 45];
      for (const index of changed) writeAt(source, index * CHUNK, keystream(`change ${index}`, index === 45 ? 1000 : CHUNK));
      const second = readFileSync(source);
      await sendAt(storeAt(root), source, new Date(Date.UTC(2026, 11, 2, 12)));

      const files = chunkFilesBySession(root);
      const sessions = [...files.keys()].sort();
      assert.equal(sessions.length, 2, `sessions: ${sessions.join(', ')}`);
      // The incremental stored the changed chunks and nothing else.
      const incremental = (files.get(sessions[1] as string) ?? [])
        .map((path) => Number.parseInt(path.slice(-16), 16) / CHUNK)
        .sort((a, b) => a - b);
      assert.deepEqual(incremental, changed);
      // ct nonce: 4 bytes of time, 10 random, then the 80-bit counter.
      const counters = [...files.values()].flat().map((path) => readFileSync(path).subarray(14, 24).toString('hex'));
      assert.equal(new Set(counters).size, counters.length, 'a nonce counter was used twice');

      const restored = await restoreAll(storeAt(root), PASSPHRASE);
      const images = [...restored.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, bytes]) => bytes);
      assert.equal(images.length, 2);
      assert.ok(images[0]?.equals(first), 'the first session restores as the source was');
      assert.ok(images[1]?.equals(second), 'the incremental restores as the source is');
    });
  }

  it('a source that cannot be read ends the pipeline with a clean error', async () => {
    const pool = new ChunkPool({ workers: 2 });
    try {
      pool.configure({ compression: 'zlib', level: 4, chunkSize: CHUNK, crypto: null });
      const options = {
        pool,
        sink: { localRootFd: null, writeChunk: () => Promise.reject(new Error('a dry run writes nothing')) },
        chunkSize: CHUNK,
        volsize: 40 * CHUNK,
        indexes: Array.from({ length: 40 }, (_, i) => i),
        previousHash: () => null,
        chunkPath: () => '',
        ctCounter: () => 0n,
        now: () => 0,
        dryRun: true,
      };
      // A directory opens for reading, but reading it fails (EISDIR).
      const unreadable = join(scratch.dir, 'a-directory');
      mkdirSync(unreadable);
      await assert.rejects(
        runChunkPipeline({ ...options, sourcePath: unreadable }),
        (error: Error) => error instanceof FatalError && /reading the source volume at byte 0: .*EISDIR/.test(error.message),
      );
      // Shorter than the volume it claims to be: it shrank while being read.
      const short = join(scratch.dir, 'short.img');
      writeFileSync(short, makeVolume('short', CHUNK, 30));
      await assert.rejects(
        runChunkPipeline({ ...options, sourcePath: short }),
        (error: Error) => error instanceof FatalError && /source volume shrank while being read \(chunk 30\)/.test(error.message),
      );
    } finally {
      await pool.close();
    }
  });

  it('an interrupt after the last batch was handed out still stops the pipeline (nothing to commit)', async () => {
    const pool = new ChunkPool({ workers: 2 });
    try {
      pool.configure({ compression: 'zlib', level: 4, chunkSize: CHUNK, crypto: null });
      const source = join(scratch.dir, 'interrupted.img');
      writeFileSync(source, makeVolume('interrupted', CHUNK, 4));
      const controller = new AbortController();
      let writes = 0;
      const pipeline = runChunkPipeline({
        pool,
        // A remote-like store: the first chunk file's write waits until the interrupt, then succeeds.
        sink: {
          localRootFd: null,
          writeChunk: async () => {
            if (writes++ === 0) {
              controller.abort(new InterruptedError());
              await new Promise((resolve) => setTimeout(resolve, 50));
            }
          },
        },
        chunkSize: CHUNK,
        volsize: 4 * CHUNK,
        indexes: [0, 1, 2, 3],
        sourcePath: source,
        previousHash: () => null,
        chunkPath: (index: number) => `Vol_x/S-tmp/x${index.toString(16).padStart(16, '0')}`,
        ctCounter: () => 0n,
        now: () => 0,
        dryRun: false,
        signal: controller.signal,
      });
      await assert.rejects(pipeline, InterruptedError);
    } finally {
      await pool.close();
    }
  });

  it("writes beneath the store's own directory, not the path opened again after the destination replaced it", async () => {
    const root = join(scratch.dir, 'swapped', 'archive');
    mkdirSync(root, { recursive: true });
    const store = new LocalStore(root);
    assert.equal((await store.stat('.'))?.kind, 'directory'); // the store has its directory open
    // The destination moves the archive directory away and puts an empty one in its place.
    const moved = `${root}-moved`;
    renameSync(root, moved);
    mkdirSync(root);
    const result = await sendChunks(store, testVolume(3));
    assert.equal(result.storedChunks, 3);
    assert.deepEqual(readdirSync(root), [], 'nothing went to the directory put in its place');
    const stored = readdirSync(moved, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    assert.equal(stored.length, 3);
  });

  it("reads the source around the page cache: a send leaves none of the volume's pages in it", async () => {
    const dir = join(scratch.dir, 'uncached');
    const root = await newArchive(dir);
    const source = join(dir, 'v.img');
    // Written with O_DIRECT (dd oflag=direct), so that none of its pages are cached to begin with.
    const volume = makeVolume('uncached', CHUNK, 40, 0);
    writeFileSync(join(dir, 'v.data'), volume);
    // Whether this file system takes direct reads (a real one, as the send's workers make).
    const directOk = (() => {
      let fd = -1;
      try {
        fd = openSync(join(dir, 'v.data'), constants.O_RDONLY | constants.O_DIRECT);
        return readSync(fd, pageAlignedBuffer(ALIGN), 0, ALIGN, 0) === ALIGN;
      } catch {
        return false;
      } finally {
        if (fd >= 0) closeSync(fd);
      }
    })();
    execFileSync('dd', [`if=${join(dir, 'v.data')}`, `of=${source}`, 'bs=64K', ...(directOk ? ['oflag=direct'] : []), 'status=none']);
    const cachedPages = () => Number(execFileSync('fincore', ['--noheadings', '--output', 'PAGES', source], { encoding: 'utf8' }).trim());
    if (directOk) assert.equal(cachedPages(), 0, 'the test starts with an uncached source');
    await sendAt(new LocalStore(root), source, new Date(Date.UTC(2026, 11, 3, 12)));
    // Where the file system takes O_DIRECT the send adds nothing to the cache; elsewhere it reads through it.
    if (directOk) assert.equal(cachedPages(), 0, 'the send left source pages in the page cache');
    else assert.ok(cachedPages() > 0);
    const restored = await restoreAll(new LocalStore(root), PASSPHRASE);
    assert.ok([...restored.values()][0]?.equals(volume), 'restored byte-identical');
  });
});
