// Whether the destination can hold hard links (archive/chunk-links.ts makes the probe). Dedup
// needs them; without them a send writes every chunk, and arch-deduplicate refuses with this.

export const NO_HARD_LINKS = 'Hardlinks not supported on dest.';
