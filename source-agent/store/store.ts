// The Store: everything Skiff needs from a destination, as operations on archive-relative paths
// holding opaque bytes. The archive layer talks only to this interface; `file:` destinations use
// LocalStore, remote ones (ssh, qubes) a protocol client with the same contract.
//
// Contract, for every implementation (test/store-conformance.ts checks it):
// * Paths are relative, "/"-separated, without empty, "." or ".." segments and without terminal
//   control characters (checkArchivePath); anything else is refused with code EINVAL before
//   touching storage.
// * list returns only names such paths can hold (isEntryName): an entry named with control
//   characters is no archive's (Wyng and Skiff never make one) and is left out, so that no
//   caller prints or builds a path from it. A remote helper that lists one breaks the protocol.
// * read/readInto return the whole file or fail; a file larger than the caller's bound fails
//   with TOO_LARGE without reading it, so a hostile destination cannot make us buffer gigabytes.
// * put is atomic and durable: readers see the old content or the new, never a mix, and after it
//   resolves the data and the directory entry are on stable storage (tmp → fsync → rename →
//   fsync dir). Parent directories are created as needed.
// * renameBatch applies its renames in order, stops at the first failure (earlier renames stay
//   done), and makes the changed directories durable before it resolves. It is how a write
//   commits (the zipper commit: innermost object first, archive.ini last).
// * writeNew creates a file that must not exist yet (EEXIST otherwise) and writes it; it is
//   neither atomic nor durable by itself: after a crash the file may be partial or missing. It
//   is for files inside a temporary directory (a session being sent) that a later rename
//   publishes, after a flush has made them and their directories durable.
// * flush makes everything written so far durable (data and directory entries). Writers call it
//   once before publishing a session, instead of syncing every chunk file on its own.
// * localPath gives the absolute path of an archive path when the store is a local directory, so
//   that the send workers can write chunk files themselves; remote stores have none.
// * link makes a hard link (dedup); EMLINK/EPERM/EXDEV come back as such, so callers can copy.
// * remove and removeTree succeed when the path is already gone (idempotent).
// * Errors carry a code from StoreErrorCode; messages name the path.

import { withoutProcName } from '../../confined-fs/beneath-root.js';
import { errorCodeOf } from '../../protocol/error-codes.js';
import { inert } from '../../protocol/inert-text.js';
import type { ErrorCode } from '../../protocol/messages.js';
import { isArchivePath } from '../../protocol/paths.js';
import { errnoOf, messageOf } from '../../protocol/thrown.js';

/** The error codes of the contract (shared with the remote protocol, whose replies carry them). */
export type StoreErrorCode = ErrorCode;

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  readonly path: string;
  constructor(code: StoreErrorCode, path: string, message: string) {
    super(`${path}: ${message}`);
    this.code = code;
    this.path = path;
  }
}

/** The StoreErrorCode for an errno code: permission-like and quota errors fold into their kind. */
export const storeErrorCode: (errno: string | undefined) => StoreErrorCode = errorCodeOf;

/**
 * A file-system failure on `path` (an errno error, or confined-fs's ConfinementError) as a
 * StoreError: LocalStore's failures, and the receive workers' reads of a `file:` archive.
 */
export function fileSystemStoreError(error: unknown, path: string): StoreError {
  if (error instanceof StoreError) return error;
  let message = withoutProcName(messageOf(error).replace(/^[A-Z]+: /, ''));
  // confined-fs names the path itself; StoreError adds it again.
  if (message.startsWith(`${path}: `)) message = message.slice(path.length + 2);
  return new StoreError(storeErrorCode(errnoOf(error)), path, message);
}

export function isNotFound(error: unknown): boolean {
  return error instanceof StoreError && error.code === 'ENOENT';
}

export interface StoreStat {
  readonly kind: 'file' | 'directory' | 'other';
  readonly size: number;
  readonly links: number;
}

/** Held for the duration of a write command; two runs cannot hold it on one archive at once. */
export interface StoreLock {
  release(): Promise<void>;
}

export interface Store {
  /** The destination as shown to the user, e.g. "file:/backups/a1". */
  readonly url: string;
  /** null when nothing exists at the path. */
  stat(path: string): Promise<StoreStat | null>;
  /** Names of the entries of a directory, sorted. */
  list(dir: string): Promise<string[]>;
  read(path: string, maxBytes: number): Promise<Buffer>;
  /** Reads the whole file into `buffer` (whose length is the bound); returns its size. */
  readInto(path: string, buffer: Buffer): Promise<number>;
  put(path: string, data: Uint8Array): Promise<void>;
  writeNew(path: string, data: Uint8Array): Promise<void>;
  fsyncDir(path: string): Promise<void>;
  flush(): Promise<void>;
  localPath?(path: string): string;
  /** With localPath: the descriptor of the archive directory the store works in (the store's own: callers never close it). */
  localRootFd?(): number;
  mkdir(path: string): Promise<void>;
  link(existing: string, newPath: string): Promise<void>;
  renameBatch(pairs: readonly (readonly [from: string, to: string])[]): Promise<void>;
  remove(path: string): Promise<void>;
  removeTree(path: string): Promise<void>;
  freeSpace(): Promise<number>;
  lock(): Promise<StoreLock>;
  close(): Promise<void>;
}

/** Throws EINVAL unless `path` is a clean archive-relative path ("." is the archive root). */
export function checkArchivePath(path: string): string {
  if (!isArchivePath(path)) throw uncleanPathError(path);
  return path;
}

/** The EINVAL error for a path that is not a clean archive-relative path. */
export function uncleanPathError(path: string): StoreError {
  return new StoreError('EINVAL', `"${inert(path)}"`, 'not a clean archive-relative path');
}
