import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SessionName } from '../../archive/names.js';
import { ESCALATION_FACTORS, type PruneRunOptions, pruneRuns, runTarget, SESSIONS_PER_PASS } from './runs.js';

// Sessions s0..s11 of one volume; a pattern string marks them: 'x' = marked, '.' = kept.
const V = Array.from({ length: 12 }, (_, i) => `S_202501${String(i + 1).padStart(2, '0')}-000000` as SessionName);

function marks(pattern: string): Set<SessionName> {
  return new Set(V.filter((_, i) => pattern[i] === 'x'));
}

/** The runs as index lists, for readable tables. */
function runs(pattern: string, options: PruneRunOptions): number[][] {
  return pruneRuns(V, marks(pattern), options).map((run) => run.map((s) => V.indexOf(s)));
}

const full: PruneRunOptions = { mode: 'full', explicit: false };
const on: PruneRunOptions = { mode: 'on', explicit: false };

describe('prune runs', () => {
  const cases: [string, PruneRunOptions, number[][]][] = [
    ['............', full, []],
    ['x...........', full, [[0]]],
    ['xx.x..xxx...', full, [[0, 1], [3], [6, 7, 8]]],
    // The newest session is never in a run, even if marked.
    ['...........x', full, []],
    ['.........xxx', full, [[9, 10]]],
    ['xxxxxxxxxxxx', full, [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]],
    // "on": whole runs, oldest first, until at least 3 are removed.
    ['xx.x..xxx...', on, [[0, 1], [3]]],
    ['xxxx.x......', on, [[0, 1, 2, 3]]],
    ['x.x.x.x.x...', on, [[0], [2], [4]]],
    ['x.x.........', on, [[0], [2]]],
    ['x.x.x.x.x.x.', { ...on, factor: 3 }, [[0], [2], [4], [6], [8], [10]]],
    [
      'xx.xx.xx.xx.',
      { ...on, factor: 3 },
      [
        [0, 1],
        [3, 4],
        [6, 7],
        [9, 10],
      ],
    ],
    ['x.x.x.x.x.x.', { ...on, factor: Number.POSITIVE_INFINITY }, [[0], [2], [4], [6], [8], [10]]],
    // An explicit selection in "on" mode: never stop while named sessions remain ...
    ['x.x.x.x.x...', { ...on, explicit: true }, [[0], [2], [4], [6], [8]]],
    // ... and with the named sessions given, stop after the run that removes the last of them.
    ['x.x.x.x.x...', { ...on, explicit: true, include: new Set([V[6]!]) }, [[0], [2], [4], [6]]],
    ['x.x.x.x.x...', { ...on, explicit: true, include: new Set([V[0]!]) }, [[0], [2], [4]]],
    ['xxxx.x......', { ...on, explicit: true, include: new Set([V[5]!]) }, [[0, 1, 2, 3], [5]]],
    // "off" with named sessions (prune --session without --autoprune) merges every run.
    ['x.x.x.x.x...', { mode: 'off', explicit: true }, [[0], [2], [4], [6], [8]]],
  ];
  for (const [pattern, options, expected] of cases) {
    const label = `${options.mode}${options.explicit ? ' explicit' : ''}${options.factor ? ` ×${options.factor}` : ''}${options.include ? ' include' : ''}`;
    it(`${pattern} ${label}`, () => {
      assert.deepEqual(runs(pattern, options), expected);
    });
  }

  it('merges each run into the session after it', () => {
    const [first, second] = pruneRuns(V, marks('xx.x........'), full);
    assert.equal(runTarget(V, first!), V[2]);
    assert.equal(runTarget(V, second!), V[4]);
    assert.throws(() => runTarget(V, [V[11]!]));
  });

  it('escalates 3, 9, 15 sessions, then everything', () => {
    assert.equal(SESSIONS_PER_PASS, 3);
    assert.deepEqual(ESCALATION_FACTORS, [1, 3, 5, Number.POSITIVE_INFINITY]);
  });

  it('ignores marks on sessions that are not in the volume', () => {
    const marked = new Set([V[1]!, 'S_20200101-000000' as SessionName]);
    assert.deepEqual(pruneRuns(V, marked, full), [[V[1]]]);
  });
});
