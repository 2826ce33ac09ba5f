// arch-check --change-uuid: give the archive a new random uuid, and store it (Wyng 0.8 prints a
// new uuid but never writes it, behavior spec §9.9).
//
// The local state is keyed by the uuid (state/local-state.ts), so the state under the new uuid is
// prepared before archive.ini changes: the nonce counters carried over (they must never go back),
// the salt copy, and the new root as the rollback anchor. Then archive.ini.tmp is renamed into
// place (an interrupted change leaves a .tmp whose uuid differs, which recovery removes). Last,
// the new root is recorded under the old uuid as well, so that a destination that hands back the
// old archive.ini is caught as a rollback rather than trusted as a first sight.
//
// The destination's anchor (state/dest-anchor.ts) names the archive's uuid: before the rename it
// is moved to the new uuid with the old one kept as `previousUuid` (an interruption either way
// leaves an archive.ini the anchor accepts), and after the change it names the new uuid alone.

import { randomUUID } from 'node:crypto';
import type { Counters } from '../../../archive/nonces.js';
import { publishRoot } from '../../../archive/transaction.js';
import type { LocalState } from '../../../state/local-state.js';
import type { Output } from '../../output.js';
import type { WriteContext } from '../../write-context.js';

export interface UuidChange {
  old: string;
  new: string;
}

export interface UuidChangeOptions {
  newUuid?: () => string;
  /** Records the destination's anchor: `uuid`, and the uuid still accepted while it changes. */
  recordAnchor?: (uuid: string, previousUuid: string | null) => Promise<void>;
}

/** `stateFor` opens this machine's local state for a uuid (same --meta-dir and --dest). */
export async function changeArchiveUuid(
  ctx: WriteContext,
  stateFor: (uuid: string) => Promise<LocalState>,
  out: Output,
  options: UuidChangeOptions = {},
): Promise<UuidChange> {
  const newUuid = options.newUuid ?? randomUUID;
  const { archive, writer } = ctx;
  const old = archive.ini.uuid;
  let next = newUuid();
  while (next === old) next = newUuid();
  out.line(`Old UUID: ${old}`);
  out.line(`New UUID: ${next}`);

  const ini = {
    ...archive.ini,
    uuid: next,
    varEntries: archive.ini.varEntries.map(([key, value]): [string, string] => [key, key === 'uuid' ? next : value]),
  };
  const root = writer.root(ini);

  const state = await stateFor(next);
  const counters = await carriedCounters(ctx);
  if (counters) await state.saveCounters(counters);
  const salt = await ctx.state.cachedSalt();
  if (salt) await state.saveSalt(salt);
  await state.saveRoot(root.bytes);
  await options.recordAnchor?.(next, old);

  // archive.ini.tmp, renamed into place; then the old uuid's state records the new root.
  await publishRoot(ctx, root);
  await options.recordAnchor?.(next, null);
  return { old, new: next };
}

/** The higher of what the old state reserved and what this run's writer reached. */
async function carriedCounters(ctx: WriteContext): Promise<Counters | null> {
  const used = ctx.writer.counters;
  if (!used) return null;
  const saved = await ctx.state.counters();
  const max = (a: bigint, b: bigint) => (a > b ? a : b);
  return {
    data: max(saved?.data ?? 0n, used.data),
    metadata: max(saved?.metadata ?? 0n, used.metadata),
  };
}
