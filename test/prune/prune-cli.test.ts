// `skiff prune` end to end (the built CLI as a subprocess) over an archive with three volumes and
// many tagged sessions: each selection form removes exactly the expected sessions, every other
// session still restores byte-identical, arch-check passes; bad selections exit 9 and leave every
// file of the archive as it was.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SessionName } from '../../source-agent/archive/names.js';
import { autopruneMarks, localDate, parseApdays } from '../../source-agent/engine/prune/calendar.js';
import { LocalStore } from '../../source-agent/store/local-store.js';
import { scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { buildSessionArchive, type PlannedSession, restoreAll } from '../helpers/session-archive.js';
import { openArchive } from '../helpers/write-context.js';

const scratch = scratchDir('skiff-prune-cli-');
after(scratch.cleanup);
const base = join(scratch.dir, 'base');
let images = new Map<string, Buffer>();
/** Session names per volume, oldest first. */
const names = new Map<string, SessionName[]>();

const day = (d: number) => new Date(Date.UTC(2026, 10, d, 12, 0, 0));

before(async () => {
  const plan: PlannedSession[] = [];
  for (let d = 1; d <= 12; d++) {
    const tags = [...(d === 3 || d === 6 ? ['alpha'] : []), ...(d === 6 || d === 9 ? ['beta'] : [])];
    plan.push({ volume: 'a.img', at: day(d), tags });
    if (d % 2 === 1) plan.push({ volume: 'b.img', at: day(d), tags: d === 3 ? ['alpha'] : [] });
    if (d <= 3) plan.push({ volume: 'wyng-metadata', at: day(d) });
  }
  mkdirSync(join(scratch.dir, 'src'));
  await buildSessionArchive(base, join(scratch.dir, 'src'), plan);
  images = await restoreAll(new LocalStore(base));
  const archive = await openArchive(new LocalStore(base));
  for (const vid of archive.ini.volumes.keys()) {
    const volume = await archive.loadVolume(vid);
    names.set(
      volume.name,
      volume.sessions.map((s) => s.name),
    );
  }
});

const label = (name: SessionName) => name.slice(2);
const a = (i: number) => (names.get('a.img') as SessionName[])[i] as SessionName;
/** A session-name-shaped time just before a.img's session i (midnight of its day). */
const beforeA = (i: number) => `${label(a(i)).slice(0, 8)}-000000`;

function fileHashes(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else out.set(path.slice(root.length), createHash('sha256').update(readFileSync(path)).digest('hex'));
    }
  };
  walk(root);
  return out;
}

let copies = 0;
function copy(): string {
  const root = join(scratch.dir, `copy${copies++}`);
  cpSync(base, root, { recursive: true });
  return root;
}

// Unencrypted archives, no stdin, no signals: the CLI runs in this process (cli-in-process.ts).
async function prune(root: string, args: string[]) {
  return runSkiffInProcess(['prune', ...args, `--dest=file:${root}`, '-u']);
}

/** After a prune: exactly `removed` (volume → session indexes) are gone; the rest restores. */
async function assertPruned(root: string, removed: Record<string, number[]>): Promise<void> {
  const gone = new Set<string>();
  for (const [volume, indexes] of Object.entries(removed)) {
    for (const i of indexes) gone.add(`${volume}@${(names.get(volume) as SessionName[])[i]}`);
  }
  const restored = await restoreAll(new LocalStore(root));
  const expected = [...images.keys()].filter((k) => !gone.has(k)).sort();
  assert.deepEqual([...restored.keys()].sort(), expected, 'the remaining sessions are exactly the expected ones');
  for (const [key, bytes] of restored) assert.ok(bytes.equals(images.get(key) as Buffer), `${key} restores byte-identical`);
  const check = await runSkiffInProcess(['arch-check', `--dest=file:${root}`, '-u']);
  assert.equal(check.code, 0, check.stderr);
}

describe('prune selections (CLI)', () => {
  const cases: { title: string; args: () => string[]; removed: () => Record<string, number[]> }[] = [
    { title: 'one date-time', args: () => ['a.img', `--session=${label(a(5))}`], removed: () => ({ 'a.img': [5] }) },
    { title: 'a tag: every session with it', args: () => ['a.img', '--session=^alpha'], removed: () => ({ 'a.img': [2, 5] }) },
    {
      title: 'a tag range: first alpha to last beta',
      args: () => ['a.img', '--session=^alpha,^beta'],
      removed: () => ({ 'a.img': [2, 3, 4, 5, 6, 7, 8] }),
    },
    {
      title: 'a date range in two volumes, both ends included',
      args: () => ['a.img', 'b.img', `--session=${label(a(2))},${label(a(6))}`],
      removed: () => ({ 'a.img': [2, 3, 4, 5, 6], 'b.img': [1, 2, 3] }),
    },
    {
      title: '--all-before a time that is no session',
      args: () => ['a.img', `--session=${beforeA(3)}`, '--all-before'],
      removed: () => ({ 'a.img': [0, 1, 2] }),
    },
    {
      title: '--all-before a session keeps that session',
      args: () => ['a.img', `--session=${label(a(4))}`, '--all-before'],
      removed: () => ({ 'a.img': [0, 1, 2, 3] }),
    },
    {
      title: '--keep a date-time and a tag',
      args: () => ['a.img', '--session=^alpha,^beta', `--keep=${label(a(4))}`, '--keep=^beta'],
      removed: () => ({ 'a.img': [2, 3, 6, 7] }),
    },
    {
      title: 'a range ending at newest never prunes the newest',
      args: () => ['a.img', `--session=${label(a(9))},newest`],
      removed: () => ({ 'a.img': [9, 10] }),
    },
    {
      title: '-a prunes metadata volumes too',
      args: () => ['-a', `--session=${label(a(0))},${label(a(2))}`],
      removed: () => ({ 'a.img': [0, 1, 2], 'b.img': [0, 1], 'wyng-metadata': [0, 1] }),
    },
    {
      title: '-a with --volex leaves metadata volumes alone',
      args: () => ['-a', '--volex=b.img', `--session=${label(a(0))},${label(a(2))}`],
      removed: () => ({ 'a.img': [0, 1, 2] }),
    },
  ];
  for (const c of cases) {
    it(c.title, async () => {
      const root = copy();
      const result = await prune(root, c.args());
      assert.equal(result.code, 0, result.stderr);
      for (const [volume, indexes] of Object.entries(c.removed()))
        assert.match(result.stdout, new RegExp(`^${volume} -${indexes.length}$`, 'm'));
      await assertPruned(root, c.removed());
    });
  }

  it('--autoprune=full removes what the calendar marks, in every volume', async () => {
    const root = copy();
    const result = await prune(root, ['-a', '--autoprune=full', '--apdays=3:30:1:2']);
    assert.equal(result.code, 0, result.stderr);
    // The calendar's own decisions are cross-checked against Wyng in calendar.test.ts; here the
    // command must carry out exactly those decisions and keep the rest intact.
    const volumes = ['a.img', 'b.img', 'wyng-metadata'].map((v) => names.get(v) as SessionName[]);
    const removed: Record<string, number[]> = {};
    for (const [v, volume] of ['a.img', 'b.img', 'wyng-metadata'].entries()) {
      const own = volumes[v] as SessionName[];
      const marks = autopruneMarks({
        mode: 'full',
        apdays: parseApdays('3:30:1:2'),
        today: localDate(new Date()),
        volumes,
        volume: own,
        metadata: volume === 'wyng-metadata',
      });
      removed[volume] = own.flatMap((name, i) => (marks.has(name) ? [i] : []));
    }
    assert.ok((removed['a.img'] as number[]).length >= 5, 'sessions older than 3 days are marked');
    await assertPruned(root, removed);
  });
});

describe('prune: bad selections change nothing', () => {
  const bad: { title: string; args: () => string[]; code: number; message: RegExp }[] = [
    {
      title: 'a reversed range',
      args: () => ['a.img', `--session=${label(a(5))},${label(a(2))}`],
      code: 9,
      message: /Second date-time must be later than first/,
    },
    {
      title: 'a tag range whose tag comes after the second end',
      args: () => ['a.img', `--session=^beta,${label(a(3))}`],
      code: 9,
      message: /Second date-time must be later than first/,
    },
    {
      title: '--all-before with a range',
      args: () => ['a.img', `--session=${label(a(1))},${label(a(3))}`, '--all-before'],
      code: 9,
      message: /--all-before requires one session/,
    },
    { title: 'a malformed date-time', args: () => ['a.img', '--session=2026-11-03'], code: 9, message: /Malformed --session/ },
    // A volume that does not exist is skipped with exit 0, as in Wyng (test/cli/parity.test.ts).
    { title: 'no --session and no --autoprune', args: () => ['a.img'], code: 1, message: /Specify --autoprune or --session for prune/ },
    { title: 'a bad --apdays', args: () => ['a.img', '--autoprune=on', '--apdays=1:x:1:1'], code: 9, message: /apdays/ },
    { title: 'a bad --autoprune', args: () => ['a.img', '--autoprune=sometimes'], code: 9, message: /autoprune/ },
  ];
  for (const c of bad) {
    it(c.title, async () => {
      const root = copy();
      const before = fileHashes(root);
      const result = await prune(root, c.args());
      assert.equal(result.code, c.code, result.stderr);
      assert.match(result.stderr, c.message);
      assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
      assert.deepEqual(fileHashes(root), before, 'every file of the archive is unchanged');
    });
  }

  it('an unknown tag prunes nothing and says so with --verbose', async () => {
    const root = copy();
    const before = fileHashes(root);
    const result = await prune(root, ['a.img', '--session=^nosuchtag', '--verbose']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^a\.img -0 No match for \^nosuchtag$/m);
    assert.deepEqual(fileHashes(root), before);
  });
});
