// --dest URLs (behavior spec §8.1): file:/path, ssh://user@host[:port][/path], qubes://vm[/path]
// and qubes-ssh://vm:user@host[:port][/path], and opening their Store: file: directly, the
// others through a destination helper (transport/). Start-up failures get Wyng's messages and
// exit codes: a helper that cannot start or answer → 5, a missing archive directory → 6.

import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isPrintable } from '../archive/names.js';
import { ArchiveNotFoundError, DestinationNotReadyError, describeError, FatalError, InputError } from '../errors.js';
import { isOneOf, itemAt } from '../lookup.js';
import { LocalStore } from '../store/local-store.js';
import { ConnectionError } from '../store/remote/helper-connection.js';
import { type Store, StoreError } from '../store/store.js';
import { makeDirs } from '../sys/make-dirs.js';
import { connectHelper, connectQubes, destinationTimeoutMs, qubesSshStart, sshStart } from '../transport/connect.js';
import type { CarrierOptions } from '../transport/helper-command.js';

export type DestScheme = 'file' | 'ssh' | 'qubes' | 'qubes-ssh';

export interface DestUrl {
  /** The URL exactly as the user typed it (Wyng keys local state by this text). */
  readonly text: string;
  readonly scheme: DestScheme;
  /** user@host[:port], vm, or vm:user@host[:port]; empty for file:. */
  readonly authority: string;
  /** The archive directory (absolute for file:). */
  readonly path: string;
}

const SCHEMES: readonly DestScheme[] = ['file', 'ssh', 'qubes', 'qubes-ssh'];

export function parseDestUrl(text: string | undefined, cwd: string): DestUrl {
  if (text === undefined || text === '') throw new InputError('Missing dest specification.');
  if (!isPrintable(text)) throw new InputError('[^control] char not allowed in dest.');
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/.exec(text);
  if (!m) throw new InputError('Malformed --dest specification.');
  const scheme = itemAt(m, 1).toLowerCase();
  if (!isOneOf(SCHEMES, scheme)) throw new InputError(`'${m[1]}' not an accepted dest type.`);
  let rest = itemAt(m, 2);
  let authority = '';
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    authority = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
    rest = slash < 0 ? '' : rest.slice(slash);
  }
  if (scheme === 'file') {
    if (authority !== '' || rest === '') throw new InputError('Malformed --dest specification.');
    return { text, scheme, authority, path: resolve(cwd, rest) };
  }
  if (authority === '') throw new InputError('Malformed --dest specification.');
  if (scheme === 'qubes-ssh') {
    const colon = authority.indexOf(':');
    if (colon <= 0 || colon === authority.length - 1) throw new InputError('Malformed --dest specification.');
  }
  return { text, scheme, authority, path: normalizeRemotePath(rest) };
}

/**
 * The destination's identity: one spelling for every way of typing the same place
 * (`file:/x/`, `file:///x`, `file:x` from /, `/./`), so local state, rollback anchors and key
 * agents keyed by it cannot be sidestepped by respelling the URL. The scheme is lower-cased,
 * the path resolved and normalized; for file: the path is absolute.
 */
export function destIdentity(dest: DestUrl): string {
  return dest.scheme === 'file'
    ? `file:${dest.path}`
    : `${dest.scheme}://${dest.authority}${dest.path.startsWith('/') ? '' : '/'}${dest.path}`;
}

function normalizeRemotePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return path.startsWith('/') ? `/${parts.join('/')}` : parts.join('/') || '.';
}

export interface OpenOptions {
  /** Write commands create the archive directory (as Wyng's mkdir -p does). */
  create: boolean;
  carrier: CarrierOptions;
  timeoutMs?: number;
  /** Receives the local directories this call created (file:), so a failed command can remove them. */
  created?: string[];
}

/** Opens the destination's Store; the archive directory must exist (exit 6 otherwise). */
export async function openDestination(dest: DestUrl, options: OpenOptions): Promise<Store> {
  if (dest.scheme === 'file') return openLocal(dest, options.create, options.created ?? []);
  const connect = {
    url: dest.text,
    root: dest.path,
    create: options.create,
    timeoutMs: options.timeoutMs ?? destinationTimeoutMs(),
  };
  try {
    if (dest.scheme === 'ssh') return await connectHelper(sshStart(dest.authority, options.carrier), connect);
    if (dest.scheme === 'qubes') return await connectQubes(dest.authority, options.carrier, connect);
    return await connectHelper(qubesSshStart(dest.authority, options.carrier), connect);
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    if (error instanceof ConnectionError) throw new DestinationNotReadyError(`Destination not ready to receive commands: ${error.message}`);
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') throw new ArchiveNotFoundError(`Path '${dest.path}' not found.`);
    if (error.code === 'EACCES') throw new DestinationNotReadyError(`Destination not writable: ${error.message}`);
    throw new DestinationNotReadyError(`Destination not ready to receive commands: ${error.message}`);
  }
}

async function openLocal(dest: DestUrl, create: boolean, created: string[]): Promise<Store> {
  if (create) {
    try {
      created.push(...(await makeDirs(dest.path)));
    } catch (error) {
      throw new FatalError(`Cannot create '${dest.path}': ${describeError(error)}`);
    }
  }
  const info = await stat(dest.path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return null;
    throw new FatalError(`Cannot access '${dest.path}': ${describeError(error)}`);
  });
  if (!info?.isDirectory()) throw new ArchiveNotFoundError(`Path '${dest.path}' not found.`);
  return new LocalStore(dest.path, dest.text);
}
