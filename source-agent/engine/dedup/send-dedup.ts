// send --dedup (behavior spec §4.5): a new chunk whose hash the archive already stores becomes a
// hard link to that chunk file instead of a new file. The index is built when the first volume
// that has data to send needs it (not for wyng-*metadata volumes, as in Wyng), and every chunk
// this send writes joins it, so repeats inside the send link too (to the file in S-tmp, or in
// the session just published for an earlier volume).
//
// When a link cannot be made the chunk is written instead:
//   EMLINK (too many links) or ENOENT (the indexed file is missing): the new file becomes the
//     one later repeats link to;
//   EACCES/EPERM, EXDEV and other refusals: linking stops for the rest of the run, with one
//     warning (a destination that does not support hard links after all).

import type { Archive, SessionRecord } from '../../archive/archive.js';
import { ChunkLinks, hardLinksSupported } from '../../archive/chunk-links.js';
import type { SessionName, VolumeId } from '../../archive/names.js';
import { StoreError } from '../../store/store.js';
import type { ChunkDedup, DedupHit, LinkOutcome } from '../send/chunk-pipeline.js';
import { DedupIndex, type Location } from './dedup-index.js';
import { NO_HARD_LINKS } from './hard-links.js';

export class SendDedup {
  private index: DedupIndex | null = null;
  private linking = true;

  private constructor(
    private readonly archive: Archive,
    private readonly warn: (text: string) => void,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /**
   * Dedup for a send, or null (with Wyng's warning) when the destination has no hard links.
   * A dry run does not probe (it changes nothing) and only estimates.
   */
  static async open(archive: Archive, options: { dryRun: boolean; warn: (text: string) => void; signal?: AbortSignal | undefined }) {
    if (!options.dryRun && !(await hardLinksSupported(archive.store))) {
      options.warn(NO_HARD_LINKS);
      return null;
    }
    return new SendDedup(archive, options.warn, options.signal);
  }

  /**
   * The dedup of one volume's pipeline. `build`: whether this volume may start the index
   * build (metadata volumes use an index that exists but do not build one).
   */
  async forVolume(vid: VolumeId, build: boolean): Promise<VolumeDedup | null> {
    if (!this.index && build) this.index = await DedupIndex.build(this.archive, { signal: this.signal, warn: this.warn });
    if (!this.index) return null;
    return new VolumeDedup(this, this.index, this.archive, new ChunkLinks(this.archive.store), vid);
  }

  /** Whether links are still being made (false after a link was refused outright). */
  get active(): boolean {
    return this.linking;
  }

  refused(error: StoreError): void {
    if (!this.linking) return;
    this.linking = false;
    this.warn(`Hard links failed (${error.message}); writing chunks instead.`);
  }
}

/** What the pipeline of one volume uses (see ChunkDedup). */
export class VolumeDedup implements ChunkDedup {
  private session = -1;
  /** Bytes of chunk files that were linked instead of written. */
  savedBytes = 0;

  constructor(
    private readonly owner: SendDedup,
    private readonly index: DedupIndex,
    private readonly archive: Archive,
    private readonly links: ChunkLinks,
    private readonly vid: VolumeId,
  ) {}

  begin(hashes: Uint8Array): void {
    this.session = this.index.addPendingSession(this.vid, hashes);
  }

  async find(hash: Uint8Array, chunk: number): Promise<DedupHit | null> {
    if (!this.owner.active) return null;
    const found = await this.index.find(hash);
    if (found) return { path: this.index.path(found, this.archive.chunkSize), location: found };
    this.index.add(hash, { session: this.session, chunk });
    return null;
  }

  async linkTo(hit: DedupHit, path: string, bytes: number): Promise<LinkOutcome> {
    try {
      await this.links.linkChunk(hit.path, path);
      this.savedBytes += bytes;
      return 'linked';
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      if (error.code === 'EMLINK' || error.code === 'ENOENT') return 'write-and-use';
      if (error.code === 'ENOSPC' || error.code === 'EEXIST') throw error;
      this.owner.refused(error);
      return 'write';
    }
  }

  use(hash: Uint8Array, hit: DedupHit, chunk: number): void {
    // The pipeline hands back, unchanged, the location find() gave it (DedupHit keeps it opaque).
    this.index.substitute(hash, hit.location as Location, { session: this.session, chunk });
  }

  /**
   * The session was published under its name: later volumes link into S_name, and its hashes
   * come from its manifest from now on (the pipeline's arrays can go).
   */
  published(name: SessionName, record: SessionRecord | null): void {
    if (this.session >= 0) this.index.published(this.session, name, record);
  }

  /** S-tmp was removed (the volume failed, or there was nothing to publish). */
  abandoned(): void {
    if (this.session >= 0) this.index.abandoned(this.session);
  }
}
