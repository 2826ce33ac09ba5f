// arch-check --clean: remove what no archive object references and no pending operation needs.
// It runs inside a write command, after recover.ts has completed or rolled back interrupted
// writes (no journal is pending; S-tmp, volinfo.tmp, sessions.tmp, merge leftovers and unlisted
// session directories of readable volumes are already handled there). What it adds:
//   * Vol_* directories that archive.ini does not list (Wyng's stray volume dirs);
//   * in listed volumes: S*-tmp directories of any name, session directories volinfo does not
//     list (the same rule as recovery);
//   * in listed sessions: info.tmp and manifest.z.tmp (a Wyng send or a prune that stopped
//     before its commit);
//   * half-written files of an interrupted put (.skiff-put-*) at those levels.
// Anything a listed volume's volinfo references (its session directories and their files) stays;
// a volume whose volinfo is damaged keeps all of its session directories.

import { isSessionName, isVolumeId, type VolumeId } from '../../../archive/names.js';
import { FatalError, IntegrityError } from '../../../errors.js';
import type { Store } from '../../../store/store.js';
import type { Output } from '../../output.js';
import type { WriteContext } from '../../write-context.js';

const PUT_LEFTOVER = '.skiff-put-';
const SESSION_LEFTOVERS = new Set(['info.tmp', 'manifest.z.tmp']);

/**
 * The archive's top-level entries and the entries of every Vol_* directory, as paths: taken
 * before a write command's recovery, it lets --clean report what recovery removed too.
 */
export async function destinationEntries(store: Store): Promise<Set<string>> {
  const entries = new Set<string>();
  for (const name of await store.list('.')) {
    entries.add(name);
    if (isVolumeId(name) && (await store.stat(name))?.kind === 'directory') {
      for (const entry of await store.list(name)) entries.add(`${name}/${entry}`);
    }
  }
  return entries;
}

/** Removes the leftovers; returns the removed paths (with `before`: also those recovery removed). */
export async function cleanDestination(ctx: WriteContext, out: Output, before: ReadonlySet<string> | null = null): Promise<string[]> {
  const { archive } = ctx;
  const store = archive.store;
  if (archive.ini.inProcess.length > 0) throw new FatalError('An interrupted operation is still pending; not cleaning.');
  const removed: string[] = [];
  const remove = async (path: string) => {
    await store.removeTree(path);
    removed.push(path);
  };

  for (const name of await store.list('.')) {
    if (name.startsWith(PUT_LEFTOVER)) await remove(name);
    else if (isVolumeId(name) && !archive.ini.volumes.has(name) && (await store.stat(name))?.kind === 'directory') await remove(name);
  }
  for (const vid of archive.ini.volumes.keys()) {
    if ((await store.stat(vid))?.kind !== 'directory') continue;
    const listed = await listedSessions(ctx, vid);
    for (const entry of await store.list(vid)) {
      const path = `${vid}/${entry}`;
      if (isSessionName(entry)) {
        if (listed === null) continue;
        if (!listed.has(entry)) await remove(path);
        else await cleanSession(store, path, remove);
      } else if (isSessionTmp(entry) || entry.startsWith(PUT_LEFTOVER)) {
        await remove(path);
      }
    }
  }

  if (before) {
    const after = await destinationEntries(store);
    const mine = new Set(removed);
    const gone = new Set([...before].filter((path) => !after.has(path)));
    // A directory recovery removed whole is reported once, not with each entry it held.
    for (const path of gone) if (!mine.has(path) && !insideAny(path, mine) && !insideAny(path, gone)) removed.push(path);
  }
  removed.sort();
  if (out.verbose) for (const path of removed) out.line(`Removed ${path}`);
  return removed;
}

/** Wyng's session temp dirs: "S*-tmp" (Skiff and Wyng 0.8 use exactly S-tmp). */
function isSessionTmp(name: string): boolean {
  return name.startsWith('S') && name.endsWith('-tmp');
}

async function listedSessions(ctx: WriteContext, vid: VolumeId): Promise<Set<string> | null> {
  try {
    return new Set((await ctx.archive.readVolInfo(vid)).sessions.keys());
  } catch (error) {
    if (error instanceof IntegrityError) return null; // keep everything of a damaged volume
    throw error;
  }
}

async function cleanSession(store: Store, dir: string, remove: (path: string) => Promise<void>): Promise<void> {
  for (const entry of await store.list(dir)) {
    if (SESSION_LEFTOVERS.has(entry) || entry.startsWith(PUT_LEFTOVER)) await remove(`${dir}/${entry}`);
  }
}

function insideAny(path: string, dirs: ReadonlySet<string>): boolean {
  const slash = path.indexOf('/');
  return slash > 0 && dirs.has(path.slice(0, slash));
}
