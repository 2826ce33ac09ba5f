// Keeps every operation inside the archive directory. Paths from the agent are archive-relative
// (checked by isArchivePath); on top of that, each operation walks its path from a descriptor of
// the archive directory at the moment of use, refusing any directory on the way that is a
// symbolic link (confined-fs/beneath-root.ts), and acts on the final component relative to its
// parent's descriptor. Nothing checked is remembered between requests, so a directory swapped
// for a link by anyone, at any time, leads nowhere outside.

import { BeneathRoot, type Located } from '../confined-fs/beneath-root.js';
import { isArchivePath } from '../protocol/paths.js';
import { HelperError } from './helper-error.js';

export class ArchiveRoot {
  private constructor(private readonly beneath: BeneathRoot) {}

  /** Opens the archive directory (creating it when asked); it must be a directory. */
  static async open(path: string, create: boolean): Promise<ArchiveRoot> {
    if (path === '' || path.includes('\0')) throw new HelperError('EINVAL', 'archive path is empty or has a NUL');
    return new ArchiveRoot(BeneathRoot.open(path, create));
  }

  get root(): string {
    return this.beneath.path;
  }

  get rootFd(): number {
    return this.beneath.rootFd;
  }

  /** Runs `use` with the parent directory of `path` (not ".") open; missing ones made when asked. */
  withParent<T>(path: string, create: boolean, use: (entry: Located) => Promise<T> | T): Promise<T> {
    if (!isArchivePath(path) || path === '.') throw notClean(path);
    return this.beneath.withParent(path, create, use);
  }

  /** The parent directory of `path` (not "."), open; the caller closes it. */
  locate(path: string, create: boolean): Located {
    if (!isArchivePath(path) || path === '.') throw notClean(path);
    return this.beneath.locate(path, create);
  }

  /** Runs `use` with the directory `path` ("." is the archive) open; made when asked. */
  withDirectory<T>(path: string, create: boolean, use: (dirFd: number) => Promise<T> | T): Promise<T> {
    if (!isArchivePath(path)) throw notClean(path);
    return this.beneath.withDirectory(path, create, use);
  }

  close(): void {
    this.beneath.close();
  }
}

function notClean(path: string): HelperError {
  return new HelperError('EINVAL', `${JSON.stringify(path)}: not a clean archive-relative path`);
}

/** The archive path of the directory holding `path` ("." for a top-level name). */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '.' : path.slice(0, slash);
}
