// verify: read one session of a volume as receive would, checking every chunk, writing nothing.

import type { Archive, Volume } from '../../archive/archive.js';
import { sessionLabel } from '../../archive/names.js';
import type { Output } from '../output.js';
import type { SessionChoice } from '../select/session-select.js';
import { warnMfcs } from './receive.js';
import { planRestore, readChunks } from './restore-stream.js';

export async function verifyVolume(
  archive: Archive,
  volume: Volume,
  choice: SessionChoice,
  out: Output,
  signal?: AbortSignal,
): Promise<void> {
  const { session } = choice;
  out.line(`\nVerifying volume '${volume.name}' ${sessionLabel(session.name)}`);
  const plan = await planRestore(archive, volume, choice.index);
  if (plan.mfcsMismatch) warnMfcs(out, volume, plan.mfcsMismatch);
  const progress = out.progress({ label: volume.name, total: plan.chunks.length, totalBytes: session.info.volsize });
  let fileBytes = 0;
  try {
    for await (const chunk of readChunks(archive, plan.chunks, { signal })) {
      fileBytes += chunk.fileBytes;
      progress.update(chunk.index + 1);
    }
  } catch (error) {
    progress.abandon();
    throw error;
  }
  progress.end(out.verbose ? `: OK  Data bytes: ${fileBytes} / ${session.info.volsize}` : ': OK ');
}
