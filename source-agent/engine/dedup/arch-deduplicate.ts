// arch-deduplicate (format spec §14, behavior spec §4.5): replace every later copy of a chunk
// file by a hard link to the copy that takes precedence (the dedup index's order: newest
// session name first). No metadata changes: manifests list hashes, not inodes.
//
// Per duplicate whose inode differs from the canonical file's:
//   link(canonical, dup + "-lnk"), then rename(dup + "-lnk", dup)
// so the duplicate's name always holds the same bytes, whatever moment a crash hits. A crash
// between the two leaves a "-lnk" name: a hard link to data that is there anyway (no space),
// which no reader looks at. The next run removes such names before it starts (and a link that
// finds one in its way replaces it).
// EMLINK (the canonical file has too many links): the duplicate stays as it is and becomes the
// file later duplicates of that chunk link to, as in Wyng.
//
// Remote destinations: the work goes in batches — stats, links and removals are pipelined
// requests, and the renames of a batch go as one rename request.

import type { Archive } from '../../archive/archive.js';
import { ChunkLinks, type FileId, hardLinksSupported } from '../../archive/chunk-links.js';
import { HASH_BYTES } from '../../archive/hash.js';
import { layout } from '../../archive/layout.js';
import { FatalError, InterruptedError } from '../../errors.js';
import { itemAt } from '../../lookup.js';
import { StoreError } from '../../store/store.js';
import type { Output } from '../output.js';
import { DedupIndex } from './dedup-index.js';
import { NO_HARD_LINKS } from './hard-links.js';

/** Duplicates handled per batch (bounds memory and the requests in flight). */
const BATCH = 512;

export interface DedupReport {
  /** Later copies found. */
  duplicates: number;
  /** Of those, replaced by a link now. */
  linked: number;
  /** Bytes of the files replaced by links. */
  bytesReduced: number;
  /** Leftover "-lnk" names of an interrupted earlier run, removed. */
  leftovers: number;
}

interface Pair {
  canonical: string;
  duplicate: string;
}

export async function archDeduplicate(
  archive: Archive,
  out: Output,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<DedupReport> {
  const store = archive.store;
  if (!(await hardLinksSupported(store))) throw new FatalError(NO_HARD_LINKS);
  out.write('\nBuilding deduplication index...');
  const index = await DedupIndex.build(archive, { signal: options.signal, warn: (text) => out.warn(text) });
  const sessions = index.sessionList();
  const links = new ChunkLinks(store);
  const report: DedupReport = {
    duplicates: 0,
    linked: 0,
    bytesReduced: 0,
    leftovers: await links.removeLeftovers(sessions.map((s) => layout.volumeEntry(s.vid, s.dir))),
  };
  out.line(`\n${Math.floor((await store.freeSpace()) / 2 ** 20)}MB free on destination.`);
  out.write('linking...');

  const linker = new Linker(links, out);
  let batch: Pair[] = [];
  for (let id = 0; id < sessions.length; id++) {
    const { vid, record } = itemAt(sessions, id);
    if (!record) continue;
    const manifest = await index.manifest(id, vid, record);
    for (let n = 0; n < manifest.count; n++) {
      if (manifest.isZero[n]) continue;
      const chunk = manifest.chunkIndexes[n]!;
      const found = await index.find(manifest.hashes.subarray(n * HASH_BYTES, (n + 1) * HASH_BYTES));
      if (!found || (found.session === id && found.chunk === chunk)) continue;
      batch.push({ canonical: index.path(found, archive.chunkSize), duplicate: index.path({ session: id, chunk }, archive.chunkSize) });
      if (batch.length >= BATCH) {
        if (options.signal?.aborted) throw new InterruptedError();
        await linker.run(batch, report);
        batch = [];
      }
    }
  }
  await linker.run(batch, report);
  out.line(' done.');
  out.line(`${Math.floor((await store.freeSpace()) / 2 ** 20)}MB free after.`);
  if (out.verbose) {
    if (report.leftovers > 0) out.line(`${report.leftovers} leftover links of an interrupted run removed.`);
    out.line(`${report.linked} of ${report.duplicates} duplicate chunks linked, ${report.bytesReduced} bytes reduced.`);
  }
  return report;
}

class Linker {
  /** Canonical files that reached their link limit → the file used in their place. */
  private readonly substitutes = new Map<string, string>();

  constructor(
    private readonly links: ChunkLinks,
    private readonly out: Output,
  ) {}

  async run(pairs: readonly Pair[], report: DedupReport): Promise<void> {
    report.duplicates += pairs.length;
    const work = pairs.map((p) => ({ ...p, source: this.substitutes.get(p.canonical) ?? p.canonical }));
    const ids = await Promise.all(work.map(async (p) => [await this.fileId(p.source), await this.fileId(p.duplicate)] as const));
    const toLink: (Pair & { source: string; size: number })[] = [];
    work.forEach((p, i) => {
      const [source, duplicate] = itemAt(ids, i);
      if (!source || !duplicate) {
        this.out.warn(`Dedup: skipping ${p.duplicate}: ${source ? 'it' : p.source} is missing.`);
      } else if (source.size !== duplicate.size) {
        // Same hash, different size: one of them is damaged; arch-check will say which.
        this.out.warn(`Dedup: skipping ${p.duplicate}: its size differs from ${p.source}.`);
      } else if (!sameFile(source, duplicate)) {
        toLink.push({ ...p, size: duplicate.size });
      }
    });
    const linked = await Promise.all(toLink.map((p) => this.linkBeside(p)));
    const renames = toLink.filter((_, i) => linked[i]);
    await this.links.replaceByLinks(renames.map((p) => p.duplicate));
    for (const p of renames) {
      report.linked++;
      report.bytesReduced += p.size;
    }
  }

  /** link(source, duplicate-lnk); false on EMLINK (the duplicate then stands in for the source). */
  private async linkBeside(p: Pair & { source: string }): Promise<boolean> {
    let source = p.source;
    let cleared = false;
    for (;;) {
      try {
        await this.links.linkBeside(source, p.duplicate);
        return true;
      } catch (error) {
        if (!(error instanceof StoreError)) throw error;
        if (error.code === 'EMLINK') {
          // Another duplicate of this batch may already stand in for the full file: use it.
          const substitute = this.substitutes.get(p.canonical);
          if (substitute && substitute !== source && substitute !== p.duplicate) {
            source = substitute;
            continue;
          }
          this.substitutes.set(p.canonical, p.duplicate);
          return false;
        }
        // A leftover of an interrupted run in the way: it is only a link, replace it.
        if (error.code !== 'EEXIST' || cleared) throw error;
        cleared = true;
        await this.links.removeBeside(p.duplicate);
      }
    }
  }

  private fileId(path: string): Promise<FileId | null> {
    return this.links.fileId(path);
  }
}

/**
 * Whether two paths are one file. Exact with inode numbers (file: stores). Remote stores report
 * only link counts: different counts, or a count of 1, prove two files; equal counts above 1 are
 * taken as one file (at worst a saving is missed; a link is never made over the same file).
 */
function sameFile(a: FileId, b: FileId): boolean {
  if (a.ino !== null && b.ino !== null) return a.ino === b.ino;
  return a.links > 1 && a.links === b.links;
}
