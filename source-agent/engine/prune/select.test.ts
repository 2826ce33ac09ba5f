import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isMetadataVolume, type SessionName } from '../../archive/names.js';
import { InputError } from '../../errors.js';
import {
  checkPruneSessionOptions,
  keptSessions,
  mayPruneVolume,
  parseKeepOption,
  parsePruneSessionOption,
  selectSessions,
  type TaggedSession,
} from './select.js';

const S = (label: string) => `S_${label}` as SessionName;

// Volume a.img of the behavior spec's prune experiments (transcripts §7): the 38 autoprune
// sessions, then alpha on 055734 and 082135, beta on 082135 and 104536, and the newest 130936.
const WYNG38 = `20260701-153200 20260701-175601 20260731-153202 20260820-033202 20260820-055603 20260825-153204
  20260909-033205 20260909-055606 20260909-082007 20260910-033208 20260911-033209 20260911-055610
  20260912-033211 20260913-153212 20260914-033212 20260914-044413 20260914-055614 20260914-070815
  20260915-153216 20260916-153216 20260917-153217 20260919-153218 20260920-033219 20260920-044420
  20260924-153220 20260929-153221 20261004-153222 20261009-153223 20261014-153224 20261019-153224
  20261024-153225 20261028-153226 20261030-153226 20261108-153227 20261118-153228 20261123-153229
  20261127-153230 20261128-033231`.split(/\s+/);

const TAGGED: [string, string[]][] = [
  ['20261128-055734', ['alpha']],
  ['20261128-082135', ['alpha', 'beta']],
  ['20261128-104536', ['beta']],
  ['20261128-130936', ['last']],
];

function volume(entries: [string, string[]][]): TaggedSession[] {
  return entries.map(([label, tags]) => ({ name: S(label), tags: new Set(tags) }));
}

const A = volume([...WYNG38.map((label): [string, string[]] => [label, []]), ...TAGGED]);
const NAMES = A.map((s) => s.name);

type Expected = { count: number; first: string; last: string } | { none: string } | { error: string };

// Expected values: Wyng 0.8's prune_sessions() run on this volume (see the report of the
// cross-check); the rows marked "Skiff" differ on purpose.
const CASES: [string, boolean, Expected][] = [
  ['^alpha', false, { count: 2, first: '20261128-055734', last: '20261128-082135' }],
  ['^alpha,^beta', false, { count: 3, first: '20261128-055734', last: '20261128-104536' }],
  ['^beta', false, { count: 2, first: '20261128-082135', last: '20261128-104536' }],
  ['20261127-153230,20261128-104536', false, { count: 5, first: '20261127-153230', last: '20261128-104536' }],
  ['20261128-000000,^beta', false, { count: 4, first: '20261128-033231', last: '20261128-104536' }],
  ['20261128-082135', true, { count: 39, first: '20260701-153200', last: '20261128-055734' }],
  ['20261128-082136', true, { count: 40, first: '20260701-153200', last: '20261128-082135' }],
  ['20261128-104536,20261128-000000', false, { error: 'Second date-time must be later than first.' }],
  ['newest', false, { none: 'No selections in this date-time range' }],
  ['^nosuchtag', false, { none: 'No match for ^nosuchtag' }],
  ['20261128-082135', false, { count: 1, first: '20261128-082135', last: '20261128-082135' }],
  ['20261128-082136', false, { none: 'No selections in this date-time range' }],
  ['20261128-130936', false, { none: 'No selections in this date-time range' }],
  ['20261128-100000,20261128-130936', false, { count: 1, first: '20261128-104536', last: '20261128-104536' }],
  ['20261128-100000,newest', false, { count: 1, first: '20261128-104536', last: '20261128-104536' }],
  ['20200101-000000,20200102-000000', false, { none: 'No selections in this date-time range' }],
  ['20300101-000000,20300102-000000', false, { none: 'No selections in this date-time range' }],
  ['20260901-000000,20260910-000000', false, { count: 3, first: '20260909-033205', last: '20260909-082007' }],
  ['20260909-033205,20260910-033208', false, { count: 4, first: '20260909-033205', last: '20260910-033208' }],
  ['^beta,^alpha', false, { count: 1, first: '20261128-082135', last: '20261128-082135' }],
  ['^beta,20261128-090000', false, { count: 1, first: '20261128-082135', last: '20261128-082135' }],
  ['^beta,20261128-082135', false, { error: 'Second date-time must be later than first.' }],
  ['^alpha,20261128-082135', false, { count: 2, first: '20261128-055734', last: '20261128-082135' }],
  ['newest,20261128-000000', false, { error: 'Second date-time must be later than first.' }],
  ['20261128-000000,^last', false, { count: 4, first: '20261128-033231', last: '20261128-104536' }],
  ['^last', false, { none: 'No selections in this date-time range' }],
  ['^alpha,^nosuch', false, { none: 'No match for ^nosuch' }],
  ['^nosuch,^alpha', false, { none: 'No match for ^nosuch' }],
  ['20200101-000000', true, { none: 'No selections in this date-time range' }],
  ['newest', true, { count: 41, first: '20260701-153200', last: '20261128-104536' }],
  ['20260701-153200', true, { none: 'No selections in this date-time range' }],
  ['20260701-153201', true, { count: 1, first: '20260701-153200', last: '20260701-153200' }],
  // Skiff: everything before the oldest alpha session (Wyng selects all but the newest, 41).
  ['^alpha', true, { count: 38, first: '20260701-153200', last: '20261128-033231' }],
  ['20261128-082135,20261128-104536', true, { error: '--all-before requires one session.' }],
  ['S_20261128-082135', false, { count: 1, first: '20261128-082135', last: '20261128-082135' }],
  // Skiff: tags match case-insensitively, as they are stored lower-cased.
  ['^ALPHA', false, { count: 2, first: '20261128-055734', last: '20261128-082135' }],
  // Skiff: a space after the comma is allowed for dates, as Wyng strips them.
  ['20261127-153230, 20261128-104536', false, { count: 5, first: '20261127-153230', last: '20261128-104536' }],
];

function run(text: string, allBefore: boolean, sessions: readonly TaggedSession[] = A) {
  return selectSessions(sessions, parsePruneSessionOption(text), allBefore);
}

describe('prune --session selection (§6.2, Wyng-checked)', () => {
  for (const [text, allBefore, expected] of CASES) {
    it(`${text}${allBefore ? ' --all-before' : ''}`, () => {
      if ('error' in expected) {
        assert.throws(
          () => run(text, allBefore),
          (e: unknown) => e instanceof InputError && e.message === expected.error,
        );
        return;
      }
      const result = run(text, allBefore);
      if ('none' in expected) {
        assert.deepEqual('none' in result && result.none, expected.none);
        return;
      }
      assert.ok('selected' in result, JSON.stringify(result));
      // Every selection here is a contiguous stretch of the volume, as Wyng slices it.
      const from = NAMES.indexOf(S(expected.first));
      assert.deepEqual(result.selected, NAMES.slice(from, NAMES.indexOf(S(expected.last)) + 1));
      assert.equal(result.selected.length, expected.count);
    });
  }

  it('reports when the newest session was dropped from the selection', () => {
    assert.deepEqual(run('newest', false), { none: 'No selections in this date-time range', preservedLatest: true });
    assert.deepEqual(run('^last', false), { none: 'No selections in this date-time range', preservedLatest: true });
    const range = run('20261128-100000,newest', false);
    assert.deepEqual(range, { selected: [S('20261128-104536')], preservedLatest: true });
    assert.equal(run('^alpha', false).preservedLatest, false);
  });

  it('selects every session with a tag even when they are not adjacent', () => {
    const v = volume([
      ['20250101-000000', ['w']],
      ['20250102-000000', []],
      ['20250103-000000', ['w']],
      ['20250104-000000', []],
      ['20250105-000000', ['w']],
    ]);
    assert.deepEqual(run('^w', false, v), { selected: [S('20250101-000000'), S('20250103-000000')], preservedLatest: true });
    // As a range the tag spans its oldest to its newest session, untagged ones between included.
    assert.deepEqual(run('^w,^w', false, v), {
      selected: [S('20250101-000000'), S('20250102-000000'), S('20250103-000000'), S('20250104-000000')],
      preservedLatest: true,
    });
  });

  it('has nothing to prune in a volume with fewer than two sessions', () => {
    const one = volume([['20250101-000000', ['w']]]);
    for (const text of ['newest', '^w', '20250101-000000', '20240101-000000,20260101-000000']) {
      assert.deepEqual(run(text, false, one), { none: 'No extra sessions to prune', preservedLatest: false });
    }
    assert.deepEqual(run('newest', false, []), { none: 'No extra sessions to prune', preservedLatest: false });
  });

  it('accepts Map tag collections (SessionInfo.tags)', () => {
    const v = [
      { name: S('20250101-000000'), tags: new Map([['w', 'weekly']]) },
      { name: S('20250102-000000'), tags: new Map<string, string>() },
    ];
    assert.deepEqual(run('^w', false, v), { selected: [S('20250101-000000')], preservedLatest: false });
  });
});

describe('parsing --session for prune', () => {
  it('parses each form', () => {
    assert.deepEqual(parsePruneSessionOption('newest'), { first: { kind: 'newest' }, second: null });
    assert.deepEqual(parsePruneSessionOption('^Weekly'), { first: { kind: 'tag', tag: 'weekly' }, second: null });
    assert.deepEqual(parsePruneSessionOption('20250101-000000,^x'), {
      first: { kind: 'time', name: S('20250101-000000') },
      second: { kind: 'tag', tag: 'x' },
    });
  });

  const bad: [string, RegExp][] = [
    ['badformat', /Malformed --session 'badformat'/],
    ['', /Malformed --session ''/],
    ['20250101-000000,', /Malformed --session ''/],
    ['20250101-000000,20250102-000000,20250103-000000', /Malformed --session '20250102-000000,20250103-000000'/],
    ['20251301-000000', /Malformed/],
    ['20250229-000000', /Malformed/],
    ['20250101-240000', /Malformed/],
    ['^', /Malformed --session tag/],
    ['^a b', /Malformed --session tag/],
    ['newest,newest,x', /Malformed/],
    ['Newest', /Malformed/],
    ['20250102-000000,20250101-000000', /^Second date-time must be later than first\.$/],
    ['20250101-000000,20250101-000000', /^Second date-time must be later than first\.$/],
  ];
  for (const [text, message] of bad) {
    it(`refuses '${text}' as an input error`, () => {
      assert.throws(
        () => parsePruneSessionOption(text),
        (e: unknown) => e instanceof InputError && e.exitCode === 9 && message.test(e.message),
      );
    });
  }

  it('refuses --all-before with a range for every volume, even an empty one', () => {
    const spec = parsePruneSessionOption('20250101-000000,20250102-000000');
    assert.throws(() => checkPruneSessionOptions(spec, true), /--all-before requires one session\./);
    assert.throws(() => selectSessions([], spec, true), InputError);
    assert.doesNotThrow(() => checkPruneSessionOptions(spec, false));
  });
});

describe('--keep', () => {
  const v = volume([
    ['20250101-000000', ['w']],
    ['20250102-000000', []],
    ['20250103-000000', ['m', 'w']],
    ['20250104-000000', ['x']],
    ['20250105-000000', []],
  ]);
  const kept = (values: string[]) => [...keptSessions(v, parseKeepOption(values))].sort();

  it('keeps named sessions, tagged sessions and, with ^all, every tagged session', () => {
    assert.deepEqual(kept([]), []);
    assert.deepEqual(kept(['20250102-000000']), [S('20250102-000000')]);
    assert.deepEqual(kept(['^w']), [S('20250101-000000'), S('20250103-000000')]);
    assert.deepEqual(kept(['^M', '20250105-000000']), [S('20250103-000000'), S('20250105-000000')]);
    assert.deepEqual(kept(['^all']), [S('20250101-000000'), S('20250103-000000'), S('20250104-000000')]);
    // A date this volume lacks and an unknown tag protect nothing here.
    assert.deepEqual(kept(['20240101-000000', '^nosuch']), []);
  });

  for (const value of ['newest', 'badformat', '^', '20250101', '20250101-000000,20250102-000000']) {
    it(`refuses --keep=${value}`, () => {
      assert.throws(
        () => parseKeepOption([value]),
        (e: unknown) => e instanceof InputError && /Malformed --keep/.test(e.message),
      );
    });
  }
});

describe('metadata volumes', () => {
  it('recognizes wyng-*metadata names', () => {
    for (const name of ['wyng-metadata', 'wyng-qubes-metadata', 'wyng-a-b-metadata']) assert.ok(isMetadataVolume(name), name);
    for (const name of ['wyng-metadata.img', 'my-wyng-metadata', 'wyngmetadata', 'vol.img', 'wyng-metadatax']) {
      assert.ok(!isMetadataVolume(name), name);
    }
  });
  it('prunes them only when every volume is selected', () => {
    assert.equal(mayPruneVolume('wyng-qubes-metadata', false), false);
    assert.equal(mayPruneVolume('wyng-qubes-metadata', true), true);
    assert.equal(mayPruneVolume('vol.img', false), true);
  });
});
