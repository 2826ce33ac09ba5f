// Which session of a volume a command works on (behavior spec §5.1): the newest by default,
// one carrying a tag (`^tag`), or one named by date-time (`YYYYMMDD-HHMMSS`), exactly or — with
// --session-strict=off — the newest session older than that time.

import type { SessionRecord, Volume } from '../../archive/archive.js';
import { isValidDateTime, type SessionName, sessionName } from '../../archive/names.js';
import { InputError } from '../../errors.js';
import { itemAt, lastOf } from '../../lookup.js';

export type SessionSpec = { kind: 'newest' } | { kind: 'tag'; tag: string } | { kind: 'time'; name: SessionName };

/** Parses a --session value (one session); malformed values are input errors. */
export function parseSessionSpec(text: string | undefined, options: { allowNewest?: boolean } = {}): SessionSpec {
  if (text === undefined) return { kind: 'newest' };
  if (options.allowNewest && text === 'newest') return { kind: 'newest' };
  if (text.startsWith('^')) {
    const tag = text.slice(1).toLowerCase();
    if (tag === '' || /[\s,^=]/.test(tag)) throw new InputError(`Malformed --session tag '${text}'.`);
    return { kind: 'tag', tag };
  }
  const bare = text.startsWith('S_') ? text.slice(2) : text;
  if (!isValidDateTime(bare)) {
    throw new InputError(`Malformed --session '${text}': use YYYYMMDD-HHMMSS or ^tag.`);
  }
  return { kind: 'time', name: sessionName(`S_${bare}`) };
}

export interface SessionChoice {
  session: SessionRecord;
  /** Index in volume.sessions. */
  index: number;
  /** A note to show the user, e.g. when a tag or a non-strict match picked the session. */
  note: string | null;
}

/** Returns the chosen session, or an error message naming why the volume has none. */
export function chooseSession(volume: Volume, spec: SessionSpec, strict: boolean): SessionChoice | string {
  const sessions = volume.sessions;
  if (sessions.length === 0) return `Volume '${volume.name}' has no sessions.`;
  if (spec.kind === 'newest') return { session: lastOf(sessions), index: sessions.length - 1, note: null };
  if (spec.kind === 'tag') {
    // The newest session by name carrying the tag (Wyng compares names as dates here).
    let best = -1;
    sessions.forEach((s, i) => {
      if (s.info.tags.has(spec.tag) && (best < 0 || s.name > itemAt(sessions, best).name)) best = i;
    });
    if (best < 0) return `No volume '${volume.name}' in session ^${spec.tag}.`;
    const session = itemAt(sessions, best);
    return { session, index: best, note: `Matched tag to ${session.name}` };
  }
  const exact = sessions.findIndex((s) => s.name === spec.name);
  if (exact >= 0) return { session: itemAt(sessions, exact), index: exact, note: null };
  if (!strict) {
    let best = -1;
    sessions.forEach((s, i) => {
      if (s.name < spec.name && (best < 0 || s.name > itemAt(sessions, best).name)) best = i;
    });
    if (best >= 0) {
      const session = itemAt(sessions, best);
      return { session, index: best, note: `Selecting ${spec.name.slice(2)} as ${session.name.slice(2)}.` };
    }
  }
  return `No volume '${volume.name}' in session ${spec.name}.`;
}
