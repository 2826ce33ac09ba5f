// receive: restore one session of one volume to a file or block device (behavior spec
// §5.2–5.5), streaming chunk by chunk; see restore-target.ts for what a failure leaves behind.

import type { Archive, Volume } from '../../archive/archive.js';
import { sessionLabel } from '../../archive/names.js';
import { localtimeNs } from '../../archive/session-info.js';
import { IntegrityError } from '../../errors.js';
import type { Output } from '../output.js';
import type { SessionChoice } from '../select/session-select.js';
import { planRestore, readChunks } from './restore-stream.js';
import { openRestoreTarget, type TargetOptions } from './restore-target.js';
import { chunksMarked } from './snapshot-baseline.js';

export interface ReceiveOptions {
  signal?: AbortSignal | undefined;
  skipCorrupt: boolean;
  /** How a block device is written (discard mode for LVM thin LVs). */
  target?: TargetOptions;
  /** Read only the chunks marked here (one byte per chunk; --use-snapshot-diff); the rest are kept. */
  only?: Uint8Array;
  /** A line printed after "Saving to" (Wyng: "Using snapshot as baseline."). */
  note?: string;
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
  const target = await openRestoreTarget(savePath, session.info.volsize, archive.chunkSize, options.target);
  out.line(`Saving to ${target.description}`);
  if (options.note) out.line(options.note);
  const chunks = options.only ? chunksMarked(plan.chunks, options.only) : plan.chunks;
  const progress = out.progress({ label: volume.name, total: chunks.length, totalBytes: session.info.volsize });
  let skipped = 0;
  let fileBytes = 0;
  try {
    for await (const chunk of readChunks(archive, chunks, options)) {
      if (chunk.corrupt) {
        skipped++;
        out.warn(`Skipping corrupt chunk at ${chunk.address} (${chunk.corrupt.message})`);
      }
      if (chunk.data) await target.write(chunk.address, chunk.data);
      else await target.zero(chunk.address, chunk.size);
      fileBytes += chunk.fileBytes;
      progress.update(chunk.index + 1);
    }
    await target.commit({ permissions: session.info.permissions, mtimeNs: localtimeNs(session.info) });
  } catch (error) {
    progress.abandon();
    const note = await target.abort();
    if (error instanceof IntegrityError) throw new IntegrityError(error.object, `${error.detail}; ${note}`);
    throw error;
  }
  // The result says what was restored: not ": OK" when chunks were replaced by zeros.
  let outcome = skipped === 0 ? ': OK ' : `: ${skipped} corrupt chunk${skipped === 1 ? '' : 's'} restored as zeros `;
  const diffBytes = target.diffBytes?.() ?? 0;
  if (diffBytes > 0) outcome += ` Diff bytes: ${diffBytes}`;
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
