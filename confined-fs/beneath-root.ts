// File-system access confined beneath one directory, shared by LocalStore (file: destinations,
// the metadata directory) and the destination helper. A destination is untrusted, and so is
// anyone else who can write into it: a directory that was checked a moment ago may have been
// swapped for a symbolic link since. So nothing is checked ahead of time and nothing checked is
// remembered: every operation walks its path at the moment of use, component by component, from
// a descriptor of the root directory, refusing any component that is a symbolic link.
//
// Node has no openat(). On Linux `/proc/self/fd/<fd>` is a "magic link" that resolves to exactly
// the directory the descriptor refers to, whatever has since happened to the path it was opened
// by, so `/proc/self/fd/<fd>/<name>` names the entry <name> of that directory. Each step opens
// the next directory with O_DIRECTORY|O_NOFOLLOW (a symbolic link fails with ENOTDIR or ELOOP);
// the final component is handled by the caller through `at(dirFd, leaf)`: open it with
// O_NOFOLLOW (O_NONBLOCK too, and fstat it, before reading), and rename, unlink, rmdir, mkdir,
// link and lstat never follow a final component anyway. Everything here is synchronous: a walk is
// a few open/close calls of microseconds each, cheaper than trips through libuv's thread pool.

import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { errnoOf } from '../protocol/thrown.js';

const DIRECTORY_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** A file that must not exist yet, and is never created through a link. */
export const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** An errno-style error with a clean message: callers map `code` as they map errno codes. */
export class ConfinementError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The directory names leading to the last segment of `path`, and that segment. */
export function parentsAndLeaf(path: string): [parents: string[], leaf: string] {
  const cut = path.lastIndexOf('/');
  return [cut < 0 ? [] : path.slice(0, cut).split('/'), path.slice(cut + 1)];
}

/** The path naming entry `name` of the directory open as `dirFd` (no symlink can intervene). */
export function at(dirFd: number, name: string): string {
  return `/proc/self/fd/${dirFd}/${name}`;
}

/**
 * An errno message without the name `at` gave its file (Node's ", open '/proc/self/fd/29/x…'"):
 * that name says nothing to the user, who is told the archive path instead.
 */
export function withoutProcName(message: string): string {
  return message.replace(/, [a-z_]+ '\/proc\/self\/fd\/[^']*'( -> '[^']*')?$/, '');
}

/** The path of the directory open as `dirFd` itself. */
export function self(dirFd: number): string {
  return `/proc/self/fd/${dirFd}`;
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed or never valid: nothing to release
  }
}

export function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function procAvailable(): boolean {
  try {
    return lstatSync('/proc/self/fd').isDirectory();
  } catch {
    return false;
  }
}

/**
 * Opens directory `name` inside the directory `dirFd` without following a link; with `create`,
 * makes it first when missing. `shown` names it in messages (the archive-relative path so far).
 */
export function openSubdirectory(dirFd: number, name: string, create: boolean, shown: string): number {
  for (let attempt = 0; ; attempt++) {
    try {
      return openSync(at(dirFd, name), DIRECTORY_FLAGS);
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'ENOENT' && create && attempt < 2) {
        try {
          mkdirSync(at(dirFd, name), 0o755);
        } catch (made) {
          if (errnoOf(made) !== 'EEXIST') throw made;
        }
        continue;
      }
      if (code === 'ENOTDIR' || code === 'ELOOP') throw notADirectory(dirFd, name, shown);
      throw error;
    }
  }
}

function notADirectory(dirFd: number, name: string, shown: string): ConfinementError {
  let link = false;
  try {
    link = lstatSync(at(dirFd, name)).isSymbolicLink();
  } catch {
    // gone again: report what the open saw
  }
  return link
    ? new ConfinementError('EACCES', `${shown} is a symbolic link; refusing to follow it`)
    : new ConfinementError('ENOTDIR', `${shown} is not a directory`);
}

/** Walks `components` from `dirFd` (not closed); returns a new descriptor the caller closes. */
export function walkFrom(dirFd: number, components: readonly string[], create: boolean, shownPrefix = ''): number {
  // The magic link itself must be followed: no O_NOFOLLOW on this one.
  let fd = openSync(self(dirFd), constants.O_RDONLY | constants.O_DIRECTORY);
  let shown = shownPrefix;
  try {
    for (const name of components) {
      shown = shown === '' ? name : `${shown}/${name}`;
      const next = openSubdirectory(fd, name, create, shown);
      closeSync(fd);
      fd = next;
    }
    return fd;
  } catch (error) {
    closeQuietly(fd);
    throw error;
  }
}

/** The parent directory of an entry, open, and the entry's name; `close` releases it. */
export interface Located {
  readonly dirFd: number;
  readonly leaf: string;
  /** The path naming the entry, for one call on it. */
  readonly path: string;
  close(): void;
}

/**
 * The archive directory, held open for the life of the store or helper session. Paths given to
 * it must already be clean archive-relative paths (protocol/paths.ts isArchivePath).
 */
export class BeneathRoot {
  private constructor(
    readonly path: string,
    private fd: number,
  ) {}

  /**
   * Opens the directory `path` (the user named it: links in it are followed), creating it when
   * asked. Fails closed when /proc is not mounted, since confinement depends on it.
   */
  static open(path: string, create: boolean): BeneathRoot {
    if (!procAvailable())
      throw new ConfinementError('EACCES', '/proc is not mounted; it is needed to keep file access inside the archive directory');
    if (create) mkdirSync(path, { recursive: true });
    const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
    return new BeneathRoot(path, fd);
  }

  get rootFd(): number {
    if (this.fd < 0) throw new ConfinementError('EBADF', `${this.path}: closed`);
    return this.fd;
  }

  /** Opens the directory at `path` ("." is the root); the caller closes the descriptor. */
  openDirectory(path: string, create: boolean): number {
    return walkFrom(this.rootFd, path === '.' ? [] : path.split('/'), create);
  }

  /** Opens the parent directory of `path` (not "."), creating missing ones when asked. */
  locate(path: string, create: boolean): Located {
    const [parts, leaf] = parentsAndLeaf(path);
    const dirFd = walkFrom(this.rootFd, parts, create);
    let open = true;
    return {
      dirFd,
      leaf,
      path: at(dirFd, leaf),
      close: () => {
        if (open) closeSync(dirFd);
        open = false;
      },
    };
  }

  /** Runs `use` with the parent of `path` open, and closes it whatever happens. */
  async withParent<T>(path: string, create: boolean, use: (entry: Located) => Promise<T> | T): Promise<T> {
    const entry = this.locate(path, create);
    try {
      return await use(entry);
    } finally {
      entry.close();
    }
  }

  /** Runs `use` with the directory `path` open, and closes it whatever happens. */
  async withDirectory<T>(path: string, create: boolean, use: (dirFd: number) => Promise<T> | T): Promise<T> {
    const fd = this.openDirectory(path, create);
    try {
      return await use(fd);
    } finally {
      closeQuietly(fd);
    }
  }

  close(): void {
    if (this.fd >= 0) closeQuietly(this.fd);
    this.fd = -1;
  }
}

/**
 * Opens an existing file for reading without following a link or blocking on a FIFO, and
 * refuses anything but a regular file (FIFOs, devices, sockets, directories). Returns the fd.
 */
export function openRegularForReading(path: string, shown: string): number {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw new ConfinementError('EINVAL', `${shown}: not a regular file`);
    return fd;
  } catch (error) {
    closeQuietly(fd);
    throw error;
  }
}

/**
 * Removes entry `name` of directory `dirFd` and, when it is a directory, everything under it,
 * walking by descriptors so that a link swapped in anywhere is removed, never followed.
 */
export function removeEntry(dirFd: number, name: string): void {
  try {
    unlinkSync(at(dirFd, name));
    return;
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT') return;
    // Linux answers EISDIR for a directory (POSIX allows EPERM).
    if (code !== 'EISDIR' && code !== 'EPERM') throw error;
  }
  let sub: number;
  try {
    sub = openSync(at(dirFd, name), DIRECTORY_FLAGS);
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT') return;
    if (code !== 'ENOTDIR' && code !== 'ELOOP') throw error;
    // Swapped for a link or a file since: remove that entry itself, once.
    try {
      unlinkSync(at(dirFd, name));
    } catch (again) {
      if (errnoOf(again) !== 'ENOENT') throw again;
    }
    return;
  }
  try {
    for (const child of readdirSync(self(sub))) removeEntry(sub, child);
  } finally {
    closeSync(sub);
  }
  try {
    rmdirSync(at(dirFd, name));
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw error;
  }
}
