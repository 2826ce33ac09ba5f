// Archive-relative paths, as both ends check them: "/"-separated, no empty, "." or ".."
// segments, not absolute, and no character a terminal would act on (inert-text.ts: NUL and the
// other controls, bidi overrides, lone surrogates): no archive has such names, and a name that
// cannot hold one cannot carry an escape sequence to the user's terminal. "." alone is the
// archive root.

import { hasTerminalControls } from './inert-text.js';
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
    !hasTerminalControls(path) &&
    path.split('/').every((part) => part !== '' && part !== '.' && part !== '..')
  );
}

/** A name as list returns it: one path segment. */
export function isEntryName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !hasTerminalControls(name);
}
