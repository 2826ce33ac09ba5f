// The deltamap that monitor keeps between sends (behavior spec §2.5): which chunks changed since
// the volume's newest session, accumulated over monitor runs so that the snapshot they compared
// against can be rotated away (its pool or file-system space released) without losing that
// knowledge. One byte per chunk here; the local state stores it as bits (state/local-state.ts).

import type { LocalState } from '../state/local-state.js';
import type { MonitorResult } from './monitor-result.js';

/** What monitor does when the map it recorded is gone: forget the pairing, so the next send reads everything. */
export async function lostDeltamap(state: LocalState, vid: string, name: string): Promise<MonitorResult> {
  await state.removeVolume(vid);
  return { outcome: 'skipped', message: `  Skipping '${name}'; its deltamap is missing (the next send reads it whole).`, failed: false };
}

/**
 * ORs `marks` into the map kept for `vid` (when `hasMap`); returns the union and how many chunks
 * are newly marked, or null when the state says there is a map but its file is gone (the changes
 * it held are unknown: the caller must drop the pairing).
 */
export async function foldDeltamap(
  state: LocalState,
  vid: string,
  marks: Uint8Array,
  hasMap: boolean,
): Promise<{ map: Uint8Array; newlyMarked: number } | null> {
  const old = hasMap ? await state.deltamap(vid, marks.length) : null;
  if (hasMap && !old) return null;
  const map = new Uint8Array(marks.length);
  let newlyMarked = 0;
  for (let i = 0; i < marks.length; i++) {
    const before = old?.[i] ?? 0;
    const now = before | (marks[i] ?? 0);
    map[i] = now;
    if (now && !before) newlyMarked++;
  }
  return { map, newlyMarked };
}

/** `changed` with the accumulated map ORed in, or null when the state says there is a map but it is gone. */
export async function withDeltamap(state: LocalState, vid: string, changed: Uint8Array): Promise<Uint8Array | null> {
  const map = await state.deltamap(vid, changed.length);
  if (!map) return null;
  const out = new Uint8Array(changed);
  for (let i = 0; i < out.length; i++) out[i] = (out[i] ?? 0) | (map[i] ?? 0);
  return out;
}

/**
 * Marks the chunks between two sizes of a volume. Needed where a snapshot other than the
 * session's is compared (after monitor): the engine marks only what lies past the *session's*
 * size, so a shrink and regrowth between monitor runs would otherwise go unseen.
 */
export function markResize(marks: Uint8Array, oldSize: number, newSize: number, chunkSize: number): void {
  if (oldSize === newSize) return;
  const start = Math.floor(Math.min(oldSize, newSize) / chunkSize);
  marks.fill(1, Math.min(start, marks.length), Math.min(Math.ceil(Math.max(oldSize, newSize) / chunkSize), marks.length));
}
