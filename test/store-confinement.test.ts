// A hostile destination, or anyone else who can write into it, swaps a directory the store has
// already used for a symbolic link to a directory outside the archive: by an outside rename, or
// through the store's own rename batch ([a → a_real], [evil → a]). Every later operation through
// that directory must fail, and nothing outside may be read, listed, created, changed or
// removed. The same table runs against LocalStore (file:) and the destination helper (over the
// protocol, in process). A FIFO in place of a file must be refused at once, not block a read.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LocalStore } from '../source-agent/store/local-store.js';
import type { Store } from '../source-agent/store/store.js';
import { scratchDir } from './helpers/cli.js';
import { inProcessStore } from './helpers/in-process-store.js';

const scratch = scratchDir('skiff-confinement-');
const fifos: string[] = [];
after(() => {
  // Should a read still block on a FIFO (the bug this guards against), let it go so the run ends.
  for (const fifo of fifos) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // no reader waiting
    }
  }
  scratch.cleanup();
});
let counter = 0;

/** Every entry under `dir` (not following links): path → file bytes, link target or "dir". */
function snapshot(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const info = lstatSync(path);
    const key = `${prefix}${name}`;
    if (info.isDirectory()) {
      out[key] = 'dir';
      Object.assign(out, snapshot(path, `${key}/`));
    } else if (info.isSymbolicLink()) out[key] = 'link';
    else out[key] = readFileSync(path, 'utf8');
  }
  return out;
}

interface Setup {
  root: string;
  outside: string;
  store: Store;
}

type Maker = (root: string) => Promise<Store>;

async function setup(make: Maker): Promise<Setup> {
  const base = join(scratch.dir, `case${counter++}`);
  const root = join(base, 'archive');
  const outside = join(base, 'outside');
  mkdirSync(join(root, 'a', 'g'), { recursive: true });
  writeFileSync(join(root, 'a', 'f'), 'inside f');
  writeFileSync(join(root, 'a', 'g', 'h'), 'inside h');
  writeFileSync(join(root, 'x'), 'x');
  mkdirSync(join(outside, 'g'), { recursive: true });
  writeFileSync(join(outside, 'f'), 'outside f');
  writeFileSync(join(outside, 'g', 'h'), 'outside h');
  const store = await make(root);
  // The store uses `a` before it is swapped: nothing it learnt then may outlive the request.
  assert.equal((await store.read('a/f', 100)).toString(), 'inside f');
  assert.deepEqual(await store.list('a'), ['f', 'g']);
  assert.equal((await store.stat('a/g/h'))?.kind, 'file');
  return { root, outside, store };
}

const swaps: Record<string, (s: Setup) => Promise<void>> = {
  'an outside process swaps a for a symlink': async ({ root, outside }) => {
    renameSync(join(root, 'a'), join(root, 'a_real'));
    symlinkSync(outside, join(root, 'a'));
  },
  'the rename race [[a, a_real], [evil, a]]': async ({ root, outside, store }) => {
    symlinkSync(outside, join(root, 'evil'));
    // Renaming entries (a link among them) is legitimate; what matters is what follows. Reads
    // below `a` run concurrently with the rename, as a hostile agent-side race would have them.
    const reads = () => Array.from({ length: 32 }, () => store.read('a/g/h', 100).catch(() => null));
    await Promise.all([
      ...reads(),
      store.renameBatch([
        ['a', 'a_real'],
        ['evil', 'a'],
      ]),
      ...reads(),
    ]);
    assert.ok(lstatSync(join(root, 'a')).isSymbolicLink());
  },
};

/** Operations through the swapped `a`; each must fail. */
const through: Record<string, (store: Store) => Promise<unknown>> = {
  read: (store) => store.read('a/f', 100),
  readInto: (store) => store.readInto('a/f', Buffer.alloc(100)),
  'read below': (store) => store.read('a/g/h', 100),
  list: (store) => store.list('a'),
  'list below': (store) => store.list('a/g'),
  stat: (store) => store.stat('a/f'),
  'put new': (store) => store.put('a/new', Buffer.from('planted')),
  'put over': (store) => store.put('a/f', Buffer.from('overwritten')),
  'put below': (store) => store.put('a/g/h', Buffer.from('overwritten')),
  writeNew: (store) => store.writeNew('a/new2', Buffer.from('planted')),
  'writeNew in a new directory': (store) => store.writeNew('a/S_9/000/x1', Buffer.from('planted')),
  mkdir: (store) => store.mkdir('a/S_3'),
  remove: (store) => store.remove('a/f'),
  'remove below': (store) => store.remove('a/g/h'),
  removeTree: (store) => store.removeTree('a/g'),
  'rename out': (store) => store.renameBatch([['a/f', 'stolen']]),
  'rename in': (store) => store.renameBatch([['x', 'a/planted']]),
  'link out': (store) => store.link('a/f', 'hardlink'),
  'link in': (store) => store.link('x', 'a/hardlink'),
  fsyncDir: (store) => store.fsyncDir('a/g'),
};

const makers: Record<string, Maker> = {
  LocalStore: async (root) => new LocalStore(root),
  'destination helper': (root) => inProcessStore(root),
};

for (const [storeName, make] of Object.entries(makers)) {
  describe(`${storeName}: no escape through a swapped directory`, () => {
    for (const [swapName, swap] of Object.entries(swaps)) {
      it(`${swapName}: every operation through it fails and nothing outside changes`, async () => {
        const s = await setup(make);
        const before = snapshot(s.outside);
        await swap(s);
        const failures: string[] = [];
        for (const [opName, op] of Object.entries(through)) {
          const outcome = await op(s.store).then(
            (value) => `${opName} succeeded: ${value instanceof Buffer ? value.toString() : JSON.stringify(value)}`,
            () => null,
          );
          if (outcome) failures.push(outcome);
          assert.deepEqual(snapshot(s.outside), before, `the outside directory changed after ${opName}`);
        }
        assert.deepEqual(failures, []);
        // Nothing from outside was pulled in either.
        const inside = readdirSync(s.root).sort();
        assert.ok(!inside.includes('stolen') && !inside.includes('hardlink'), inside.join(' '));
        await s.store.close();
      });
    }

    it('refuses a FIFO in place of a file at once', { timeout: 20_000 }, async () => {
      const s = await setup(make);
      const fifo = join(s.root, 'a', 'fifo');
      execFileSync('mkfifo', [fifo]);
      fifos.push(fifo);
      await assert.rejects(s.store.read('a/fifo', 100), /not a regular file/);
      await assert.rejects(s.store.readInto('a/fifo', Buffer.alloc(100)), /not a regular file/);
      if (process.getuid?.() === 0) {
        execFileSync('mknod', [join(s.root, 'a', 'null'), 'c', '1', '3']);
        await assert.rejects(s.store.read('a/null', 100), /not a regular file/);
      }
      await s.store.close();
    });
  });
}
