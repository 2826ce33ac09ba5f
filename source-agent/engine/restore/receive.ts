// receive: restore one session of one volume to a file or block device (behavior spec
// §5.2–5.5), streaming chunk by chunk; see restore-target.ts for what a failure leaves behind,
// and direct-receive.ts for the common case, where worker threads write the chunks.

import type { Archive, Volume } from '../../archive/archive.js';
import { sessionLabel } from '../../archive/names.js';
import { localtimeNs } from '../../archive/session-info.js';
import { IntegrityError, WorkerDiedError } from '../../errors.js';
import type { Output } from '../output.js';
import type { SessionChoice } from '../select/session-select.js';
import { canGoDirect, placeChunks } from './direct-receive.js';
import { differingChunks } from './local-compare.js';
import { type ChunkList, planRestore, readChunks, WORKERS_FROM_CHUNKS } from './restore-stream.js';
import { openRestoreTarget, type RestoreTarget, type TargetOptions } from './restore-target.js';
import { chunksMarked } from './snapshot-baseline.js';
import { openSparseTarget } from './sparse-target.js';

export interface ReceiveOptions {
  signal?: AbortSignal | undefined;
  skipCorrupt: boolean;
  /** How a block device is written (discard mode for LVM thin LVs). */
  target?: TargetOptions;
  /** Read only the chunks marked here (one byte per chunk; --use-snapshot-diff); the rest are kept. */
  only?: Uint8Array;
  /** A line printed after "Saving to" (Wyng: "Using snapshot as baseline."). */
  note?: string;
  /**
   * Keep the existing target and write only what differs (§5.3): 'write' (--sparse-write), or
   * 'fetch' (--sparse: also fetch only the chunks whose local hash differs).
   */
  sparse?: 'write' | 'fetch' | undefined;
  /** Where the tools sparse modes run are looked up. */
  env?: NodeJS.ProcessEnv | undefined;
}

export interface ReceiveResult {
  /** Chunks that --skip-corrupt-chunks left as zeros. */
  skipped: number;
}

export async function receiveVolume(
  archive: Archive,
  volume: Volume,
  choice: SessionChoice,
  savePath: string,
  out: Output,
  options: ReceiveOptions,
): Promise<ReceiveResult> {
  const { session } = choice;
  out.line(`\nReceiving volume '${volume.name}' ${sessionLabel(session.name)}`);
  const plan = await planRestore(archive, volume, choice.index);
  if (plan.mfcsMismatch) warnMfcs(out, volume, plan.mfcsMismatch);
  const sparse = options.sparse
    ? await openSparseTarget(savePath, session.info.volsize, archive.chunkSize, {
        fetchOnly: options.sparse === 'fetch',
        env: options.env,
        kind: options.target?.kind,
      })
    : null;
  if (sparse === 'no-tool') out.line('Sparse and snapshot modes disabled.');
  const sparseTarget = typeof sparse === 'object' ? sparse : null;
  const target: RestoreTarget =
    sparseTarget ?? (await openRestoreTarget(savePath, session.info.volsize, archive.chunkSize, options.target));
  out.line(`Saving to ${target.description}`);
  if (options.note) out.line(options.note);
  const wanted = options.only ? chunksMarked(plan.chunks, options.only) : plan.chunks;
  const fetchOnly = sparseTarget !== null && options.sparse === 'fetch';
  // --sparse compares every chunk first, then fetches the few that differ: half the bar each.
  const total = wanted.length * (fetchOnly ? 2 : 1);
  const progress = out.progress({ label: volume.name, total, totalBytes: session.info.volsize });
  let skipped = 0;
  let fileBytes = 0;
  try {
    let list: ChunkList = wanted;
    let shown = (done: number) => done;
    if (fetchOnly) {
      list = await differingChunks(archive, plan, sparseTarget.readPath, {
        signal: options.signal,
        onProgress: (done) => progress.update(done),
      });
      const fetching = list.length;
      shown = (done) => plan.chunks.length + Math.floor((done * plan.chunks.length) / Math.max(1, fetching));
    }
    // The common case (a local archive into a plain file or device) goes direct: the workers
    // read, check and write the chunks themselves (direct-receive.ts). The other modes need
    // every chunk here: sparse comparisons, baselines, remote reads, short lists.
    const direct =
      target.positional && !sparseTarget && !options.only && canGoDirect(archive) && list.length >= WORKERS_FROM_CHUNKS
        ? target.positional
        : null;
    const chunks = direct ? placeChunks(archive, list, direct, options) : readChunks(archive, list, options);
    for await (const chunk of chunks) {
      if (chunk.corrupt) {
        skipped++;
        out.warn(`Skipping corrupt chunk at ${chunk.address} (${chunk.corrupt.message})`);
      }
      const placed = 'placed' in chunk && chunk.placed; // already written by a worker
      if (!placed && chunk.data) await target.write(chunk.address, chunk.data);
      else if (!placed) await target.zero(chunk.address, chunk.size);
      fileBytes += chunk.fileBytes;
      progress.update(shown(chunk.index + 1));
    }
    await target.commit({ permissions: session.info.permissions, mtimeNs: localtimeNs(session.info) });
  } catch (error) {
    progress.abandon();
    const note = await target.abort();
    if (error instanceof IntegrityError) throw new IntegrityError(error.object, `${error.detail}; ${note}`);
    if (error instanceof WorkerDiedError) throw new WorkerDiedError(`${error.message}; ${note}`);
    throw error;
  }
  // The result says what was restored: not ": OK" when chunks were replaced by zeros.
  // Wyng: " Diff bytes: N" after ": OK " when a sparse or snapshot mode changed anything.
  const diff = target.diffBytes?.() ?? 0;
  const outcome =
    (skipped === 0 ? ': OK ' : `: ${skipped} corrupt chunk${skipped === 1 ? '' : 's'} restored as zeros `) +
    (diff > 0 ? ` Diff bytes: ${diff}` : '');
  progress.end(out.verbose ? `${outcome} Data bytes: ${fileBytes} / ${session.info.volsize}` : outcome);
  return { skipped };
}

export function warnMfcs(out: Output, volume: Volume, mismatch: { stored: number; computed: number }): void {
  // Wyng 0.8 stores a stale mfcs when a volume shrinks to a chunk boundary without other
  // changes (format spec §10.3), so a mismatch is reported but does not fail the restore:
  // every chunk is still checked against its own hash.
  out.warn(
    `Warning: manifest checksum for '${volume.name}' is ${mismatch.computed}, info says ${mismatch.stored} (known Wyng quirk; chunks are verified individually).`,
  );
}
