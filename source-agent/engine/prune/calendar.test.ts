import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../../test/helpers/paths.js';
import type { SessionName } from '../../archive/names.js';
import { InputError } from '../../errors.js';
import {
  type AutopruneMode,
  autopruneMarks,
  type CalendarDate,
  dayNumber,
  globalPool,
  localDate,
  parseApdays,
  parseAutoprune,
  sessionDay,
} from './calendar.js';
import { ESCALATION_FACTORS, pruneRuns, runTarget } from './runs.js';

const S = (label: string) => `S_${label}` as SessionName;

// Session tables and the results of Wyng 0.8's own autoprune() on them (the pure calendar part,
// run with stub archive objects and a fixed today; see doc/ on prune). `marked` and `runs` index
// the judged volume's sessions; runs are [first, length] in merge order.
interface FixtureCase {
  set: string;
  apdays: string;
  mode: AutopruneMode;
  volume: 'a' | 'b';
  include?: string[];
  keep?: string[];
  metadata?: boolean;
  needed?: number;
  free?: number;
  freestep?: number;
  marked: number[];
  runs: [number, number][];
}
interface Fixture {
  sets: Record<string, { today: [number, number, number]; volumes: Record<'a' | 'b', SessionName[]> }>;
  cases: FixtureCase[];
}

const fixture = JSON.parse(readFileSync(join(PROJECT_ROOT, 'test/fixtures/autoprune/calendar-cases.json'), 'utf8')) as Fixture;

function today([year, month, day]: [number, number, number]): CalendarDate {
  return { year, month, day };
}

function marksFor(c: FixtureCase): Set<SessionName> {
  const set = fixture.sets[c.set]!;
  const volume = set.volumes[c.volume];
  return autopruneMarks({
    mode: c.mode,
    apdays: parseApdays(c.apdays),
    today: today(set.today),
    volumes: [set.volumes.a, set.volumes.b],
    volume,
    include: new Set((c.include ?? []) as SessionName[]),
    exclude: new Set((c.keep ?? []) as SessionName[]),
    metadata: c.volume === 'a' && c.metadata === true,
  });
}

/** Wyng's merge loop around pruneRuns: "on" passes escalate while the destination lacks space. */
function mergeOrder(c: FixtureCase, marked: Set<SessionName>): [number, number][] {
  const original = fixture.sets[c.set]!.volumes[c.volume];
  let sessions = [...original];
  let free = c.free ?? 0;
  const merged: [number, number][] = [];
  const include = new Set((c.include ?? []) as SessionName[]);
  for (const factor of c.mode === 'on' ? ESCALATION_FACTORS : [1]) {
    const runs = pruneRuns(sessions, marked, { mode: c.mode, explicit: include.size > 0, factor, include });
    for (const run of runs) {
      assert.equal(runTarget(sessions, run), sessions[sessions.indexOf(run.at(-1)!) + 1]);
      merged.push([original.indexOf(run[0]!), run.length]);
      sessions = sessions.filter((s) => !run.includes(s));
      for (const s of run) include.delete(s);
    }
    if (runs.length === 0) break;
    free += c.freestep ?? 0;
    if ((c.needed ?? 0) <= free) break;
  }
  return merged;
}

function caseName(c: FixtureCase): string {
  const extras = [c.include ? `include ${c.include.join(' ')}` : '', c.keep ? `keep ${c.keep.join(' ')}` : ''];
  if (c.metadata) extras.push('a is a metadata volume');
  if (c.needed) extras.push(`needs ${c.needed}, free ${c.free} +${c.freestep}/pass`);
  return `${c.set} ${c.apdays} ${c.mode} ${c.volume} ${extras.filter(Boolean).join(', ')}`.trim();
}

describe('autoprune calendar against Wyng 0.8 results', () => {
  for (const c of fixture.cases) {
    it(caseName(c), () => {
      const volume = fixture.sets[c.set]!.volumes[c.volume];
      const marked = marksFor(c);
      assert.deepEqual(
        [...marked].map((s) => volume.indexOf(s)).sort((x, y) => x - y),
        c.marked,
      );
      assert.deepEqual(mergeOrder(c, marked), c.runs);
    });
  }

  it('covers the required apdays in both modes and both volumes', () => {
    for (const apdays of ['0:62:1:2', '90:30:7:2', '0:30:1:1', '7:0:1:1', '0:10:3:1']) {
      for (const mode of ['on', 'full']) {
        for (const set of ['wyng38', 'long']) {
          const found = fixture.cases.filter(
            (c) => c.set === set && c.apdays === apdays && c.mode === mode && !c.include && !c.keep && !c.metadata && !c.needed,
          );
          assert.deepEqual(found.map((c) => c.volume).sort(), ['a', 'b'], `${set} ${apdays} ${mode}`);
        }
      }
    }
    // The synthetic tables cross year boundaries (2024→2025→2026).
    const long = fixture.sets['long']!.volumes.a;
    assert.ok(long[0]!.startsWith('S_2024') && long.at(-1)!.startsWith('S_2026'));
  });

  it('reproduces the spec table for the 38-session archive (today 2026-11-28)', () => {
    const counts = (apdays: string, mode: AutopruneMode) =>
      (['a', 'b'] as const).map((volume) => {
        const c = fixture.cases.find(
          (x) => x.set === 'wyng38' && x.apdays === apdays && x.mode === mode && x.volume === volume && !x.include && !x.keep,
        )!;
        return mergeOrder(c, marksFor(c)).reduce((sum, [, n]) => sum + n, 0);
      });
    assert.deepEqual(counts('0:62:1:2', 'full'), [3, 1]);
    assert.deepEqual(counts('0:62:1:2', 'on'), [3, 1]);
    assert.deepEqual(counts('90:30:7:2', 'full'), [18, 13]);
    assert.deepEqual(counts('90:30:7:2', 'on'), [7, 6]);
    assert.deepEqual(counts('0:30:1:1', 'full'), [9, 6]);
    const c = fixture.cases.find(
      (x) => x.set === 'wyng38' && x.apdays === '0:62:1:2' && x.mode === 'full' && x.volume === 'a' && !x.include && !x.keep,
    )!;
    assert.deepEqual([...marksFor(c)].sort(), [S('20260909-033205'), S('20260914-033212'), S('20260914-044413')]);
  });
});

describe('autoprune: deliberate differences from Wyng', () => {
  const base = { mode: 'full' as const, today: { year: 2026, month: 1, day: 10 }, metadata: false };

  it('B = 0 with A > 0 applies the A rule only (Wyng: TypeError)', () => {
    const a = ['20251201-010000', '20251220-010000', '20251230-010000', '20260105-010000', '20260109-010000'].map(S);
    const marks = autopruneMarks({ ...base, apdays: parseApdays('10:0:1:1'), volumes: [a], volume: a });
    assert.deepEqual([...marks].sort(), [S('20251201-010000'), S('20251220-010000'), S('20251230-010000')]);
  });

  it('an empty pool marks nothing but the named sessions (Wyng: IndexError)', () => {
    // b's newest session is a's oldest, so a two-session a leaves the pool empty.
    const a = [S('20251201-010000'), S('20251202-010000')];
    const b = [S('20251101-010000'), S('20251201-010000')];
    const pool = globalPool([a, b]);
    assert.deepEqual(pool, [S('20251101-010000')]);
    assert.deepEqual(globalPool([a, [S('20251201-010000')]]), []);
    const volumes = [a, [S('20251201-010000')]];
    assert.deepEqual(autopruneMarks({ ...base, apdays: parseApdays('1:1:1:1'), volumes, volume: a }).size, 0);
    const include = new Set([a[0]!]);
    assert.deepEqual([...autopruneMarks({ ...base, mode: 'off', apdays: parseApdays(undefined), volumes, volume: a, include })], [a[0]]);
  });

  it("a named session that is another volume's newest is marked (Wyng: silently kept)", () => {
    const a = ['20251201-010000', '20251202-010000', '20251203-010000'].map(S);
    const b = ['20251201-010000', '20251202-010000'].map(S);
    const include = new Set([S('20251202-010000')]);
    const marks = autopruneMarks({ ...base, mode: 'off', apdays: parseApdays(undefined), volumes: [a, b], volume: a, include });
    assert.deepEqual([...marks], [S('20251202-010000')]);
    assert.deepEqual(pruneRuns(a, marks, { mode: 'off', explicit: true, include }), [[S('20251202-010000')]]);
  });

  it("never marks the judged volume's newest session or an excluded one", () => {
    const a = ['20251201-010000', '20251202-010000', '20251203-010000'].map(S);
    const include = new Set(a);
    const marks = autopruneMarks({ ...base, apdays: parseApdays('1:0:1:1'), volumes: [a], volume: a, include, exclude: new Set([a[0]!]) });
    assert.deepEqual([...marks], [a[1]]);
  });

  it('marks nothing in a volume with fewer than two sessions', () => {
    const a = [S('20200101-000000')];
    assert.equal(autopruneMarks({ ...base, apdays: parseApdays('1:1:1:1'), volumes: [a], volume: a, include: new Set(a) }).size, 0);
  });

  it('with the calendar off (mode off, or A + B = 0) only named sessions are marked', () => {
    const a = ['20200101-000000', '20200102-000000', '20200103-000000', '20200104-000000'].map(S);
    for (const [mode, apdays] of [
      ['off', '1:1:1:1'],
      ['full', '0:0:1:1'],
    ] as const) {
      assert.deepEqual([...autopruneMarks({ ...base, mode, apdays: parseApdays(apdays), volumes: [a], volume: a })], []);
      const include = new Set([a[1]!]);
      assert.deepEqual([...autopruneMarks({ ...base, mode, apdays: parseApdays(apdays), volumes: [a], volume: a, include })], [a[1]]);
    }
  });
});

describe('--apdays and --autoprune', () => {
  it('parses A:B:C:D with the default for undefined or empty', () => {
    const dflt = { removeAfterDays: 0, thinAfterDays: 62, spanDays: 1, keepPerSpan: 2 };
    assert.deepEqual(parseApdays(undefined), dflt);
    assert.deepEqual(parseApdays(''), dflt);
    assert.deepEqual(parseApdays('90:30:7:2'), { removeAfterDays: 90, thinAfterDays: 30, spanDays: 7, keepPerSpan: 2 });
    assert.deepEqual(parseApdays(' 7:+0:1:1'), { removeAfterDays: 7, thinAfterDays: 0, spanDays: 1, keepPerSpan: 1 });
    assert.equal(parseApdays('0:0:1:1'), null);
    assert.equal(parseApdays('0:0:5:5'), null);
  });

  for (const bad of ['-1:0:1:1', '0:-1:1:1', '0:62:0:2', '0:62:1:0', '-5:-5:1:1', '1:1:-1:1']) {
    it(`refuses --apdays=${bad}`, () => {
      assert.throws(
        () => parseApdays(bad),
        (e: unknown) => e instanceof InputError && e.message === "apdays must be at least '0:0:1:1'",
      );
    });
  }
  // Wyng crashes on all of these (UnboundLocalError / ValueError tracebacks).
  for (const bad of ['x:1:1:1', '0:62:1', '0:62:1:2:3', '1.5:1:1:1', '1e3:1:1:1', 'nan:1:1:1', '0:62::2', ':::', 'abc']) {
    it(`refuses malformed --apdays=${bad}`, () => {
      assert.throws(
        () => parseApdays(bad),
        (e: unknown) => e instanceof InputError && /Malformed --apdays/.test(e.message),
      );
    });
  }

  it('parses --autoprune in any case and refuses unknown modes', () => {
    assert.equal(parseAutoprune(undefined), 'off');
    assert.equal(parseAutoprune('ON'), 'on');
    assert.equal(parseAutoprune('Full'), 'full');
    assert.equal(parseAutoprune('off'), 'off');
    for (const bad of ['', 'yes', 'fulll', '1', 'true']) {
      assert.throws(
        () => parseAutoprune(bad),
        (e: unknown) => e instanceof InputError && e.exitCode === 9,
        bad,
      );
    }
  });
});

describe('calendar days', () => {
  it('counts days like Python date.toordinal (offset 719163)', () => {
    assert.equal(dayNumber({ year: 1970, month: 1, day: 1 }), 0);
    assert.equal(dayNumber({ year: 2026, month: 11, day: 28 }), 20785);
    assert.equal(dayNumber({ year: 1, month: 1, day: 1 }), 1 - 719163);
    assert.equal(dayNumber({ year: 2024, month: 3, day: 1 }) - dayNumber({ year: 2024, month: 2, day: 28 }), 2);
    assert.equal(dayNumber({ year: 2100, month: 3, day: 1 }) - dayNumber({ year: 2100, month: 2, day: 28 }), 1);
    assert.equal(sessionDay(S('20261231-235959')) + 1, dayNumber({ year: 2027, month: 1, day: 1 }));
  });
  it('takes the local date of a moment', () => {
    assert.deepEqual(localDate(new Date(2026, 0, 31, 23, 59)), { year: 2026, month: 1, day: 31 });
  });
});
