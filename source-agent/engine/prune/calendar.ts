// The autoprune calendar (behavior spec §6.3): which sessions of a volume --autoprune and
// --apdays=A:B:C:D mark for removal. A session's date is the YYYYMMDD of its name; "today" is the
// local calendar date. Every volume is judged against one pool of sessions from all volumes, so
// volumes are thinned in step and keep the same restore points.
//
// Deliberate differences from Wyng 0.8 (which crashes or silently skips here):
// * an empty pool (every older session is some volume's newest) does not crash;
// * B = 0 with A > 0 applies the A rule only, instead of a TypeError;
// * a session named by `prune --session` is marked even when it is another volume's newest
//   session (Wyng never marks it, so it silently survives);
// * non-numeric or malformed --apdays is an input error (Wyng crashes with a traceback).

import type { SessionName } from '../../archive/names.js';
import { InputError } from '../../errors.js';
import { itemAt } from '../../lookup.js';

export type AutopruneMode = 'off' | 'on' | 'full';

/** --apdays=A:B:C:D. */
export interface ApDays {
  /** A: sessions dated on or before today − A days are removed; 0 = never. */
  readonly removeAfterDays: number;
  /** B: sessions dated before today − B days are thinned; 0 = never. */
  readonly thinAfterDays: number;
  /** C: length of a thinning span in days. */
  readonly spanDays: number;
  /** D: sessions to keep per span when thinning. */
  readonly keepPerSpan: number;
}

export const DEFAULT_APDAYS = '0:62:1:2';

/**
 * Parses --apdays; undefined or empty means the default. Returns null when A + B = 0, which turns
 * the calendar off (sessions named by `prune --session` are still removed).
 */
export function parseApdays(text: string | undefined): ApDays | null {
  const value = text === undefined || text === '' ? DEFAULT_APDAYS : text;
  const parts = value.split(':');
  if (parts.length !== 4 || !parts.every((p) => /^\s*[+-]?\d+\s*$/.test(p))) {
    throw new InputError(`Malformed --apdays '${value}': use A:B:C:D (whole numbers).`);
  }
  const whole = (i: number) => Number.parseInt(itemAt(parts, i), 10);
  const [a, b, c, d] = [whole(0), whole(1), whole(2), whole(3)];
  if (a < 0 || b < 0 || c < 1 || d < 1) throw new InputError("apdays must be at least '0:0:1:1'");
  if (a + b === 0) return null;
  return { removeAfterDays: a, thinAfterDays: b, spanDays: c, keepPerSpan: d };
}

/** Parses --autoprune (any case); undefined means off. Unknown values are input errors. */
export function parseAutoprune(text: string | undefined): AutopruneMode {
  const mode = (text ?? 'off').toLowerCase();
  if (mode === 'off' || mode === 'on' || mode === 'full') return mode;
  throw new InputError(`Invalid --autoprune '${text}': use off, on or full.`);
}

export interface CalendarDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

/** The local calendar date of a moment: the caller's clock (the context's), never the system's here. */
export function localDate(now: Date): CalendarDate {
  return { year: now.getFullYear(), month: now.getMonth() + 1, day: now.getDate() };
}

export interface AutopruneInput {
  readonly mode: AutopruneMode;
  /** null = calendar off (A + B = 0). */
  readonly apdays: ApDays | null;
  readonly today: CalendarDate;
  /**
   * Every volume's sessions in sequence order, the judged volume included, as they were when the
   * command started: Wyng computes the pool once per run, so volumes pruned earlier in the same
   * run still count with their old sessions.
   */
  readonly volumes: readonly (readonly SessionName[])[];
  /** The judged volume's sessions in sequence order. */
  readonly volume: readonly SessionName[];
  /** Sessions named by `prune --session`. */
  readonly include?: ReadonlySet<SessionName>;
  /** Sessions protected by --keep. */
  readonly exclude?: ReadonlySet<SessionName>;
  /** Metadata volumes are never thinned. */
  readonly metadata: boolean;
}

/** The sessions of the judged volume to remove; its newest session is never among them. */
export function autopruneMarks(input: AutopruneInput): Set<SessionName> {
  const marked = new Set<SessionName>();
  const { volume, apdays } = input;
  if (volume.length < 2) return marked;
  const own = new Set(volume);
  const newest = volume.at(-1);
  const exclude = input.exclude ?? new Set<SessionName>();
  const mark = (name: SessionName) => {
    if (own.has(name) && name !== newest && !exclude.has(name)) marked.add(name);
  };
  for (const name of input.include ?? []) mark(name);
  if (input.mode === 'off' || apdays === null) return marked;

  const pool = globalPool(input.volumes);
  if (pool.length === 0) return marked;
  const today = dayNumber(input.today);
  if (apdays.removeAfterDays > 0) {
    const oldest = today - apdays.removeAfterDays;
    for (const name of pool) if (sessionDay(name) <= oldest) mark(name);
  }
  // Thinning stops at the date of the pool's second-newest session (or today − B, if earlier).
  if (apdays.thinAfterDays > 0 && pool.length > 2 && !input.metadata) {
    const end = Math.min(sessionDay(itemAt(pool, pool.length - 2)), today - apdays.thinAfterDays);
    thin(pool, end, apdays, mark);
  }
  return marked;
}

/** All sessions of all volumes except each volume's newest, sorted by name (= by time). */
export function globalPool(volumes: readonly (readonly SessionName[])[]): SessionName[] {
  const newest = new Set(volumes.map((v) => v.at(-1)));
  const pool = new Set(volumes.flat().filter((name) => !newest.has(name)));
  return [...pool].sort();
}

/**
 * Thins the pool to about D sessions per C days, in spans of C days laid from every Jan 1 up to
 * (not including) `end`. Within a span the busiest day (the first busiest at or after a rotating
 * offset) loses its earliest remaining session until at most D remain. A span started near Dec 31
 * reaches into January, which the next year's grid covers again, with what is left.
 */
function thin(pool: readonly SessionName[], end: number, apdays: ApDays, mark: (name: SessionName) => void): void {
  const { spanDays } = apdays;
  // Per day, the sessions still counted, earliest first; the pool's sessions of every volume
  // compete so all volumes drop the same points in time.
  const byDay = new Map<number, SessionName[]>();
  for (const name of pool) {
    const day = sessionDay(name);
    const list = byDay.get(day);
    if (list) list.push(name);
    else byDay.set(day, [name]);
  }
  const firstYear = Number(pool[0]?.slice(2, 6));
  const lastYear = civilYear(end);
  for (let year = firstYear; year <= lastYear; year++) {
    const gridEnd = Math.min(dayNumber({ year, month: 12, day: 31 }), end);
    for (let span = dayNumber({ year, month: 1, day: 1 }); span < gridEnd; span += spanDays) {
      const counts: number[] = [];
      for (let day = span; day < Math.min(span + spanDays, end); day++) counts.push(byDay.get(day)?.length ?? 0);
      thinSpan(span, counts, apdays, byDay, mark);
    }
  }
}

function thinSpan(
  span: number,
  counts: number[],
  apdays: ApDays,
  byDay: Map<number, SessionName[]>,
  mark: (name: SessionName) => void,
): void {
  const { spanDays, keepPerSpan } = apdays;
  const step = Math.floor(spanDays / keepPerSpan) + 1;
  let total = counts.reduce((sum, n) => sum + n, 0);
  let offset = 0;
  while (total > keepPerSpan) {
    const busiest = firstMaxFrom(counts, offset);
    offset = (offset + step) % Math.min(spanDays, counts.length);
    // A busiest day of zero (all sessions lie before the offset) removes nothing this round.
    const removed = byDay.get(span + busiest)?.shift();
    if (removed === undefined) continue;
    counts[busiest] = itemAt(counts, busiest) - 1;
    total--;
    mark(removed);
  }
}

function firstMaxFrom(counts: readonly number[], from: number): number {
  let best = from;
  for (let i = from + 1; i < counts.length; i++) if (itemAt(counts, i) > itemAt(counts, best)) best = i;
  return best;
}

/** Days since 1970-01-01 of a proleptic Gregorian date, for any year (no Date quirks before 100). */
export function dayNumber({ year, month, day }: CalendarDate): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilYear(days: number): number {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  return yoe + era * 400 + (mp >= 10 ? 1 : 0);
}

/** The day number of a session's date (`S_YYYYMMDD-…`). */
export function sessionDay(name: SessionName): number {
  return dayNumber({ year: Number(name.slice(2, 6)), month: Number(name.slice(6, 8)), day: Number(name.slice(8, 10)) });
}
