// Keeps every operation inside the archive directory. Paths from the agent are archive-relative
// (checked by isArchivePath); on top of that, each operation walks its path from a descriptor of
// the archive directory at the moment of use, refusing any directory on the way that is a
// symbolic link, and acts on the final component relative to its parent's descriptor. Nothing
// checked is remembered between requests, so a directory swapped for a link by anyone, at any
// time, leads nowhere outside. The work is confined-fs/archive-directory.ts, the code LocalStore
// runs too; this file opens it with the helper's way of reporting a refused path.

import { ArchiveDirectory, type FailureReporting } from '../confined-fs/archive-directory.js';
import { HelperError } from './helper-error.js';

const reporting: FailureReporting = {
  refusePath: (path) => new HelperError('EINVAL', `${JSON.stringify(path)}: not a clean archive-relative path`),
  // The server turns any failure into the protocol's error (asHelperError).
  describe: (error) => error,
};

/** Opens the archive directory (creating it when asked); it must be a directory. */
export async function openArchive(path: string, create: boolean): Promise<ArchiveDirectory> {
  if (path === '' || path.includes('\0')) throw new HelperError('EINVAL', 'archive path is empty or has a NUL');
  return new ArchiveDirectory(path, reporting).open(create);
}

/** The archive path of the directory holding `path` ("." for a top-level name). */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '.' : path.slice(0, slash);
}
