// Which chunks `receive --use-snapshot-diff` must fetch (behavior spec §5.4): the paired snapshot
// holds the volume's newest session, so to turn it into an older session S only the addresses
// that some session after S changed (listed in its manifest) differ, plus every address from
// the smallest later size on (a shrink cut those off the snapshot). Each is then written with
// its content as of S, from the merged manifest up to S.

import type { Archive, Volume } from '../../archive/archive.js';
import { itemAt } from '../../lookup.js';
import { subsetOf } from './local-compare.js';
import type { ChunkList } from './restore-stream.js';

/** One byte per chunk of session `index`'s size: 1 where a later session changed it. */
export async function changedAfter(archive: Archive, volume: Volume, index: number): Promise<Uint8Array> {
  const chunkSize = archive.chunkSize;
  const count = Math.ceil(itemAt(volume.sessions, index).info.volsize / chunkSize);
  const changed = new Uint8Array(count);
  let smallest = Number.POSITIVE_INFINITY;
  for (let i = index + 1; i < volume.sessions.length; i++) {
    const session = itemAt(volume.sessions, i);
    smallest = Math.min(smallest, session.info.volsize);
    const manifest = await archive.loadManifest(volume.vid, session);
    for (let n = 0; n < manifest.count; n++) {
      const chunk = manifest.chunkIndexes[n]!;
      if (chunk < count) changed[chunk] = 1;
    }
  }
  // A later shrink cut off everything from its size on, a partial chunk there included.
  const volsize = itemAt(volume.sessions, index).info.volsize;
  if (smallest < volsize) for (let chunk = Math.floor(smallest / chunkSize); chunk < count; chunk++) changed[chunk] = 1;
  return changed;
}

/** The entries of `list` whose chunk index is marked in `wanted`, in the same order. */
export function chunksMarked(list: ChunkList, wanted: Uint8Array): ChunkList {
  const picked: number[] = [];
  for (let i = 0; i < list.length; i++) if (wanted[i]) picked.push(i);
  return subsetOf(list, picked);
}
