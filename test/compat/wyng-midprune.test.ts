// Archives that real Wyng 0.8 left mid-prune (test/fixtures/wyng-midprune: stopped after its
// Init step, and after its Moves step). Wyng itself cannot open them without the cache of the
// interrupted run; Skiff, with a fresh --meta-dir, must complete the merge from the destination
// alone on its next write command, after which the kept sessions restore byte-identical and the
// pruned ones are gone.

import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { PROJECT_ROOT } from '../helpers/paths.js';

const FIXTURE = join(PROJECT_ROOT, 'test/fixtures/wyng-midprune');
const VID = 'Vol_86f1f3';
const KEPT = [
  ['20261201-072742', 'm.session1.img'],
  ['20261201-072749', 'm.session4.img'],
] as const;
const PRUNED = ['20261201-072744', '20261201-072747'];
const scratch = scratchDir('skiff-midprune-');
after(scratch.cleanup);

describe('an archive Wyng left mid-prune is completed by Skiff from the destination alone', () => {
  for (const state of ['stopped-after-init', 'stopped-after-moves']) {
    for (const command of [
      ['add', 'new.img'],
      ['arch-check', '--clean'],
    ]) {
      it(`${state}, completed by ${command.join(' ')}`, async () => {
        const root = join(scratch.dir, `${state}-${command[0]}`);
        cpSync(join(FIXTURE, state, 'archive'), root, { recursive: true });
        // Git keeps no empty directories: the moved-out target's chunk directory.
        if (state === 'stopped-after-moves') mkdirSync(join(root, VID, 'merge', 'S_20261201-072749', '000000000'), { recursive: true });
        const meta = join(scratch.dir, `meta-${state}-${command[0]}`);
        const dest = `--dest=file:${root}`;

        const listed = await runSkiffInProcess(['list', 'm.img', dest, `--meta-dir=${meta}`]);
        assert.match(listed.stderr, /Prior operation in progress: merge Vol_86f1f3/);

        const run = await runSkiffInProcess([...command, dest, `--meta-dir=${meta}`, '-u']);
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /Completing prior operation in progress\./);

        const sessions = await runSkiffInProcess(['list', 'm.img', dest, `--meta-dir=${meta}`]);
        assert.equal(sessions.code, 0, sessions.stderr);
        assert.doesNotMatch(sessions.stderr, /Prior operation/);
        for (const gone of PRUNED) assert.doesNotMatch(sessions.stdout, new RegExp(gone));
        for (const [session, image] of KEPT) {
          const target = join(scratch.dir, `${state}-${command[0]}-${session}.img`);
          const r = await runSkiffInProcess([
            'receive',
            'm.img',
            `--session=${session}`,
            `--save-to=${target}`,
            dest,
            `--meta-dir=${meta}`,
          ]);
          assert.equal(r.code, 0, r.stderr);
          assert.ok(readFileSync(target).equals(readFileSync(join(FIXTURE, image))), `${session} restores byte-identical`);
        }
        const check = await runSkiffInProcess(['arch-check', dest, `--meta-dir=${meta}`]);
        assert.equal(check.code, 0, check.stderr);
        assert.deepEqual(
          readdirSync(join(root, VID)).filter((e) => e.startsWith('merge') || e.endsWith('.tmp')),
          [],
          'no merge leftovers',
        );
      });
    }
  }
});
