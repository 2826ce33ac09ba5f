// arch-check --clean: remove what no archive object references and no pending operation needs
// (archive/leftovers.ts has the rules and does the removing), and report it — with what this
// command's recovery removed before, when the caller took the destination's entries first.

import { destinationEntries, removeLeftovers } from '../../../archive/leftovers.js';
import { FatalError } from '../../../errors.js';
import type { Output } from '../../output.js';
import type { WriteContext } from '../../write-context.js';

export { destinationEntries };

/** Removes the leftovers; returns the removed paths (with `before`: also those recovery removed). */
export async function cleanDestination(ctx: WriteContext, out: Output, before: ReadonlySet<string> | null = null): Promise<string[]> {
  const { archive } = ctx;
  if (archive.ini.inProcess.length > 0) throw new FatalError('An interrupted operation is still pending; not cleaning.');
  const removed = await removeLeftovers(archive);
  if (before) {
    const after = await destinationEntries(archive.store);
    const mine = new Set(removed);
    const gone = new Set([...before].filter((path) => !after.has(path)));
    // A directory recovery removed whole is reported once, not with each entry it held.
    for (const path of gone) if (!mine.has(path) && !insideAny(path, mine) && !insideAny(path, gone)) removed.push(path);
  }
  removed.sort();
  if (out.verbose) for (const path of removed) out.line(`Removed ${path}`);
  return removed;
}

function insideAny(path: string, dirs: ReadonlySet<string>): boolean {
  const slash = path.indexOf('/');
  return slash > 0 && dirs.has(path.slice(0, slash));
}
