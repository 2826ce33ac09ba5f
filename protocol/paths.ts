// Archive-relative paths, as both ends check them: "/"-separated, no empty, "." or ".."
// segments, no NUL, not absolute; "." alone is the archive root.

import { MAX_PATH_BYTES } from './messages.js';

/**
 * The archive lock file, in the archive directory: created with O_EXCL and holding the pid of
 * the process that holds it. LocalStore and the helper take the same file, so a local run and a
 * remote one on the same machine exclude each other.
 */
export const LOCK_FILE = '.skiff-lock';

export function isArchivePath(path: string): boolean {
  if (path === '.') return true;
  return (
    path.length > 0 &&
    Buffer.byteLength(path) <= MAX_PATH_BYTES &&
    !path.startsWith('/') &&
    !path.includes('\0') &&
    path.split('/').every((part) => part !== '' && part !== '.' && part !== '..')
  );
}

/** A name as list returns it: one path segment. */
export function isEntryName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}
