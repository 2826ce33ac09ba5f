// A new archive's files (format spec §13.1, checklist "Writer 1"), in the order that makes a
// half-made archive harmless: archive.salt and salt.bak (encrypted archives), then archive.ini
// and archive.ini.bak — until archive.ini exists there is no archive, and a retry starts over —
// then the archive.dat/.hardlink probe.

import type { Store } from '../store/store.js';
import { Archive } from './archive.js';
import type { ArchiveIni } from './archive-ini.js';
import type { ArchiveWriter } from './archive-writer.js';
import { probeHardLinks } from './chunk-links.js';
import { layout } from './layout.js';
import { formatSaltFile, invertBytes, type SaltFile } from './salt.js';
import { adoptRoot } from './transaction.js';

/** Whether the destination already holds an archive (its archive.ini). */
export async function archiveExists(store: Store): Promise<boolean> {
  return (await store.stat(layout.archiveIni)) !== null;
}

/** Writes the new archive's files; returns the archive as written. */
export async function writeNewArchive(writer: ArchiveWriter, ini: ArchiveIni, salt: SaltFile | null): Promise<Archive> {
  const archive = writer.archive;
  const store = archive.store;
  if (salt) {
    const saltBytes = formatSaltFile(salt);
    await store.put(layout.archiveSalt, saltBytes);
    await store.put(layout.saltBackup, invertBytes(saltBytes));
  }
  const root = writer.root(ini);
  await store.put(layout.archiveIni, root.bytes);
  await store.put(layout.rootBak, root.bytes);
  await probeHardLinks(store);
  adoptRoot(archive, root);
  return new Archive(store, root.ini, archive.keys, salt, root.bytes);
}
