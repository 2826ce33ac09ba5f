// Whether the destination can hold hard links (format spec §2: the archive.dat / .hardlink
// probe). Dedup needs them; without them a send writes every chunk, and arch-deduplicate refuses.

import type { Store } from '../../store/store.js';
import { probeHardLinks } from '../maintain/arch-init.js';

export const NO_HARD_LINKS = 'Hardlinks not supported on dest.';

/**
 * True when `.hardlink` already is a second link of a file (made by arch-init or an earlier
 * write); otherwise the probe is made again, as Wyng does at every write command.
 */
export async function hardLinksSupported(store: Store): Promise<boolean> {
  const existing = await store.stat('.hardlink');
  if (existing?.kind === 'file' && existing.links >= 2) return true;
  return probeHardLinks(store);
}
