// diff: compare a volume on this machine with the archive's newest session (behavior spec §5.6).
// The archive side is read as verify reads it (merged manifest, every chunk checked); the local
// side is any readable path of the session's size (local-volume.ts finds it). Two ways, as Wyng:
//   normal   fetches each data chunk and compares its bytes with the local chunk;
//   --quick  fetches nothing: the local chunk is compressed and hashed as send would, and the hash
//            compared with the manifest's (so it trusts the manifest, not the chunk files).
// All-zero chunks are checked locally in both. Like Wyng, diff stops at the first difference
// ("Diff bytes" is then that chunk's size: the chunk size for --quick and zero chunks, the
// chunk's own size otherwise); `allChunks` (Skiff's --all-chunks) goes on and counts them all.

import type { FileHandle } from 'node:fs/promises';
import * as fs from 'node:fs/promises';
import type { Archive, Volume } from '../../archive/archive.js';
import { hashesEqual } from '../../archive/hash.js';
import { sessionLabel } from '../../archive/names.js';
import { InterruptedError, VolumeFailure } from '../../errors.js';
import { lastOf } from '../../lookup.js';
import type { LocalVolumeView } from '../../source/local-volume.js';
import type { Output } from '../output.js';
import { isAllZero, readFully } from './positional-io.js';
import { warnMfcs } from './receive.js';
import { type ChunkList, planRestore, readChunks } from './restore-stream.js';

export interface DiffOptions {
  quick: boolean;
  /** Compare every chunk instead of stopping at the first difference. */
  allChunks: boolean;
  signal?: AbortSignal | undefined;
}

export interface DiffResult {
  /** Wyng's "Diff bytes". */
  diffBytes: number;
  /** Chunks found to differ (at most 1 unless allChunks). */
  differing: number;
  /** Chunks compared. */
  compared: number;
}

/** Reads `size` bytes at `address`; a short read (the file shrank) leaves the rest as read: fewer bytes. */
async function readLocal(file: FileHandle, buffer: Buffer, address: number, size: number): Promise<Buffer> {
  return buffer.subarray(0, await readFully(file, buffer.subarray(0, size), address));
}

/** Compares `volume`'s newest session with `local`; the caller has checked the sizes are equal. */
export async function diffVolume(
  archive: Archive,
  volume: Volume,
  local: LocalVolumeView,
  out: Output,
  options: DiffOptions,
): Promise<DiffResult> {
  const session = lastOf(volume.sessions);
  out.line(`\nVerifying volume '${volume.name}' ${sessionLabel(session.name)}`);
  const plan = await planRestore(archive, volume, volume.sessions.length - 1);
  if (plan.mfcsMismatch) warnMfcs(out, volume, plan.mfcsMismatch);
  const chunks = plan.chunks;
  let file: FileHandle;
  try {
    file = await fs.open(local.path, 'r');
  } catch (error) {
    throw new VolumeFailure(`Cannot read '${local.path}': ${(error as Error).message}`);
  }
  const progress = out.progress({ label: volume.name, total: chunks.length, totalBytes: session.info.volsize });
  const result: DiffResult = { diffBytes: 0, differing: 0, compared: 0 };
  let fileBytes = 0;
  try {
    const localBuffer = Buffer.allocUnsafe(archive.chunkSize);
    // Returns false to stop (a difference, unless every chunk is wanted).
    const record = (index: number, same: boolean, bytes: number): boolean => {
      result.compared++;
      progress.update(index + 1);
      if (same) return true;
      result.differing++;
      result.diffBytes += bytes;
      return options.allChunks;
    };
    if (options.quick) {
      await compareHashes(archive, chunks, file, localBuffer, record, options.signal);
    } else {
      for await (const chunk of readChunks(archive, chunks, { signal: options.signal })) {
        const mine = await readLocal(file, localBuffer, chunk.address, chunk.size);
        fileBytes += chunk.fileBytes;
        const same = mine.length === chunk.size && (chunk.data ? chunk.data.equals(mine) : isAllZero(mine));
        if (!record(chunk.index, same, chunk.data ? chunk.size : archive.chunkSize)) break;
      }
    }
  } catch (error) {
    progress.abandon();
    throw error;
  } finally {
    await file.close();
  }
  const data = out.verbose ? ` Data bytes: ${fileBytes} / ${session.info.volsize}` : '';
  progress.end(result.diffBytes === 0 ? `: OK ${data}` : `  Diff bytes: ${result.diffBytes}${data}`);
  if (options.allChunks) out.line(`${result.differing} of ${chunks.length} chunks differ.`);
  return result;
}

/** --quick: the local chunk, compressed and hashed as send would, against the manifest's hash. */
async function compareHashes(
  archive: Archive,
  chunks: ChunkList,
  file: FileHandle,
  localBuffer: Buffer,
  record: (index: number, same: boolean, bytes: number) => boolean,
  signal: AbortSignal | undefined,
): Promise<void> {
  const scratch = Buffer.allocUnsafe(archive.codec.maxCompressedBytes(archive.chunkSize));
  for (let i = 0; i < chunks.length; i++) {
    if (signal?.aborted) throw new InterruptedError();
    const size = chunks.size(i);
    const mine = await readLocal(file, localBuffer, chunks.address(i), size);
    let same = mine.length === size;
    if (same && chunks.path(i) === null) same = isAllZero(mine);
    else if (same) {
      const compressed = scratch.subarray(0, archive.codec.compressInto(mine, scratch));
      same = hashesEqual(archive.dataHasher.digest(compressed), chunks.hash(i));
    }
    // Wyng counts a whole chunk for every --quick or zero-chunk difference.
    if (!record(i, same, archive.chunkSize)) return;
  }
}
