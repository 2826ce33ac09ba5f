// Which sessions of a volume `prune --session` names (behavior spec §6.2), which ones --keep
// protects (§6.4), and which volumes are metadata volumes. Pure decisions on session names and
// tags: nothing here reads or writes the archive, so a command can decide every volume's selection
// (and fail on bad input, exit 9) before it merges anything.

import { isMetadataVolume, isValidDateTime, type SessionName, sessionName } from '../../archive/names.js';
import { InputError } from '../../errors.js';
import { lastOf } from '../../lookup.js';

/** One end of a --session value. */
export type PruneSessionPart = { kind: 'newest' } | { kind: 'time'; name: SessionName } | { kind: 'tag'; tag: string };

/** `--session=S1[,S2]`: one session (or, with --all-before, everything before it) or a range. */
export interface PruneSessionSpec {
  readonly first: PruneSessionPart;
  readonly second: PruneSessionPart | null;
}

/** What selection and --keep need to know about a session; a Set or a Map of tag ids both fit. */
export interface TaggedSession {
  readonly name: SessionName;
  readonly tags: { has(tag: string): boolean; readonly size: number };
}

export type PruneSelection =
  | { readonly selected: SessionName[]; readonly preservedLatest: boolean }
  | { readonly none: string; readonly preservedLatest: boolean };

/** Parses `--session` for prune: split on the first comma, each part `newest`, a date-time or `^tag`. */
export function parsePruneSessionOption(text: string): PruneSessionSpec {
  const comma = text.indexOf(',');
  const first = parsePart(comma < 0 ? text : text.slice(0, comma));
  const second = comma < 0 ? null : parsePart(text.slice(comma + 1));
  // Two fixed date-times can be checked once for all volumes, before anything is pruned.
  if (first.kind === 'time' && second?.kind === 'time' && second.name <= first.name) {
    throw new InputError('Second date-time must be later than first.');
  }
  return { first, second };
}

function parsePart(text: string): PruneSessionPart {
  if (text === 'newest') return { kind: 'newest' };
  if (text.startsWith('^')) {
    // Tag ids are stored lower-cased (names.ts), as receive/verify match them.
    const tag = text.slice(1).toLowerCase();
    if (tag === '' || /[\s,^=]/u.test(tag)) throw new InputError(`Malformed --session tag '${text}'.`);
    return { kind: 'tag', tag };
  }
  const trimmed = text.trim();
  const bare = trimmed.startsWith('S_') ? trimmed.slice(2) : trimmed;
  if (!isValidDateTime(bare)) throw new InputError(`Malformed --session '${text}': use YYYYMMDD-HHMMSS, newest or ^tag.`);
  return { kind: 'time', name: sessionName(`S_${bare}`) };
}

/** Refuses option combinations that are wrong for every volume. */
export function checkPruneSessionOptions(spec: PruneSessionSpec, allBefore: boolean): void {
  if (allBefore && spec.second) throw new InputError('--all-before requires one session.');
}

/**
 * The sessions of one volume that `prune --session` selects, oldest first, without the volume's
 * newest session (which is never pruned); or why there are none.
 * Throws InputError for a range whose second end is a date-time not later than the first end
 * (which, for a tag or `newest` first end, depends on the volume): call it for every volume
 * before pruning any.
 */
export function selectSessions(sessions: readonly TaggedSession[], spec: PruneSessionSpec, allBefore: boolean): PruneSelection {
  checkPruneSessionOptions(spec, allBefore);
  if (sessions.length < 2) return { none: 'No extra sessions to prune', preservedLatest: false };
  const names = sessions.map((s) => s.name);
  for (const part of [spec.first, spec.second]) {
    if (part?.kind === 'tag' && !sessions.some((s) => s.tags.has(part.tag))) {
      return { none: `No match for ^${part.tag}`, preservedLatest: false };
    }
  }
  return dropLatest(names, chosen(sessions, names, spec, allBefore));
}

function chosen(
  sessions: readonly TaggedSession[],
  names: readonly SessionName[],
  spec: PruneSessionSpec,
  allBefore: boolean,
): SessionName[] {
  const { first, second } = spec;
  if (allBefore) {
    // Everything older than the named session; the session itself stays. A tag names its oldest
    // session (Wyng compares the literal '^tag' text here and so selects every session).
    const bound = first.kind === 'tag' ? firstTagged(sessions, first.tag) : resolve(first, names);
    return names.slice(0, endBefore(names, bound));
  }
  if (second === null) {
    if (first.kind === 'tag') return sessions.filter((s) => s.tags.has(first.tag)).map((s) => s.name);
    const name = resolve(first, names);
    return names.includes(name) ? [name] : [];
  }
  // A tag opens a range at its oldest session and closes it at its newest.
  const start = first.kind === 'tag' ? firstTagged(sessions, first.tag) : resolve(first, names);
  const end = second.kind === 'tag' ? lastTagged(sessions, second.tag) : resolve(second, names);
  if (second.kind !== 'tag' && end <= start) throw new InputError('Second date-time must be later than first.');
  return names.slice(startAt(names, start), endThrough(names, end));
}

// Range ends that are not sessions stand for the nearest session inside the range; both ends are
// inclusive. Positions, not a filter, as Wyng slices the volume's session list.

function startAt(names: readonly SessionName[], start: SessionName): number {
  const exact = names.indexOf(start);
  if (exact >= 0) return exact;
  const later = names.findIndex((n) => n > start);
  return later >= 0 ? later : names.length;
}

function endThrough(names: readonly SessionName[], end: SessionName): number {
  const exact = names.indexOf(end);
  if (exact >= 0) return exact + 1;
  return names.findLastIndex((n) => n < end) + 1;
}

function endBefore(names: readonly SessionName[], bound: SessionName): number {
  const exact = names.indexOf(bound);
  return exact >= 0 ? exact : names.findLastIndex((n) => n < bound) + 1;
}

function resolve(part: PruneSessionPart, names: readonly SessionName[]): SessionName {
  if (part.kind === 'newest') return lastOf(names);
  if (part.kind === 'time') return part.name;
  throw new Error('tag parts are resolved by the caller');
}

function firstTagged(sessions: readonly TaggedSession[], tag: string): SessionName {
  return taggedName(
    sessions.find((s) => s.tags.has(tag)),
    tag,
  );
}

function lastTagged(sessions: readonly TaggedSession[], tag: string): SessionName {
  return taggedName(
    sessions.findLast((s) => s.tags.has(tag)),
    tag,
  );
}

/** selectSessions returns early for a tag no session has, so the lookups above find one. */
function taggedName(session: TaggedSession | undefined, tag: string): SessionName {
  if (!session) throw new RangeError(`no session tagged ${tag}`);
  return session.name;
}

function dropLatest(names: readonly SessionName[], selected: SessionName[]): PruneSelection {
  const preservedLatest = selected.at(-1) === names.at(-1);
  if (preservedLatest) selected.pop();
  if (selected.length === 0) return { none: 'No selections in this date-time range', preservedLatest };
  return { selected, preservedLatest };
}

/** --keep values: exact sessions, tags, or `^all` (every tagged session). */
export interface KeepSpec {
  readonly names: ReadonlySet<SessionName>;
  readonly tags: ReadonlySet<string>;
  readonly allTagged: boolean;
}

/** Parses every --keep value; malformed ones are input errors. */
export function parseKeepOption(values: readonly string[]): KeepSpec {
  const names = new Set<SessionName>();
  const tags = new Set<string>();
  let allTagged = false;
  for (const value of values) {
    // `newest` is a --session word only; Wyng's --keep takes dates and tags.
    const part = value === 'newest' ? null : parseKeepPart(value);
    if (part === null) throw new InputError(`Malformed --keep '${value}': use YYYYMMDD-HHMMSS or ^tag.`);
    if (part.kind === 'time') names.add(part.name);
    else if (part.kind === 'tag' && part.tag === 'all') allTagged = true;
    else if (part.kind === 'tag') tags.add(part.tag);
  }
  return { names, tags, allTagged };
}

function parseKeepPart(text: string): PruneSessionPart | null {
  try {
    return parsePart(text);
  } catch (error) {
    if (error instanceof InputError) return null;
    throw error;
  }
}

/** The sessions of one volume that --keep protects from explicit and calendar pruning. */
export function keptSessions(sessions: readonly TaggedSession[], keep: KeepSpec): Set<SessionName> {
  const kept = new Set<SessionName>();
  for (const s of sessions) {
    const tagged = keep.allTagged ? s.tags.size > 0 : [...keep.tags].some((t) => s.tags.has(t));
    if (tagged || keep.names.has(s.name)) kept.add(s.name);
  }
  return kept;
}

/** Whether prune may remove sessions of this volume; `allVolumes` = the run selected every volume. */
export function mayPruneVolume(name: string, allVolumes: boolean): boolean {
  return allVolumes || !isMetadataVolume(name);
}
