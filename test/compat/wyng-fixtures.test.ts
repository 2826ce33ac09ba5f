// Archives written by real Wyng 0.8 (test/fixtures/wyng-v3): every volume and session is listed,
// verify --all and arch-check pass, and every session of every volume restores byte-identical
// to the image it was sent from. The first listing runs the built CLI as a subprocess with the
// passphrase piped, as a user would; the rest run it in-process (--passcmd), as the subprocess
// adds only its start-up to each of the many restores.

import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runSkiff, scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { FIXTURES, fixtureArchive, WYNG_FIXTURES } from '../helpers/paths.js';

const scratch = scratchDir();
after(scratch.cleanup);

for (const fixture of WYNG_FIXTURES) {
  describe(`Wyng fixture ${fixture.dir}`, () => {
    const dest = `--dest=file:${fixtureArchive(fixture.dir)}`;
    const input = fixture.passphrase ? `${fixture.passphrase}\n` : '';
    // The keys are derived from Wyng's own files here (once per fixture, then memoized).
    const given = fixture.passphrase ? [`--passcmd=echo ${fixture.passphrase}`] : [];
    const skiff = (...args: string[]) => runSkiffInProcess([dest, ...args, ...given], { fixtureKeys: false });
    const volumes = fixture.volumes as Record<string, readonly (string | null)[]>;
    const names = Object.keys(volumes);
    const sessions = new Map<string, string[]>();

    it('lists every volume', async () => {
      const r = await runSkiff([dest, 'list'], { input, fixtureKeys: false });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, fixture.passphrase ? /^Encrypted archive/m : /^Un-encrypted archive/m);
      const listed = r.stdout
        .split('Volumes:\n')[1]
        ?.trim()
        .split('\n')
        .map((l) => l.trim());
      assert.deepEqual(listed, [...names].sort());
    });

    it('lists every session of every volume', async () => {
      const r = await skiff('list', '--all');
      assert.equal(r.code, 0, r.stderr);
      for (const name of names) {
        const section = r.stdout.split(`Sessions for volume '${name}':\n\n`)[1]?.split('\nSessions for volume')[0] ?? '';
        const labels = [...section.matchAll(/^(\d{8}-\d{6}) /gm)].map((m) => m[1] as string);
        assert.equal(labels.length, volumes[name]?.length, name);
        if (labels.length === 0) assert.match(section, /^None\./);
        sessions.set(name, labels);
      }
    });

    it('verify --all passes', async () => {
      const r = await skiff('verify', '--all');
      assert.equal(r.code, 0, r.stderr);
      assert.equal([...r.stdout.matchAll(/\] 100% : OK/g)].length, names.filter((n) => (sessions.get(n) ?? []).length > 0).length);
    });

    it('receive --save-to restores every session byte-identical', async () => {
      for (const name of names) {
        const images = volumes[name] ?? [];
        const labels = sessions.get(name) ?? [];
        for (const [i, label] of labels.entries()) {
          const target = join(scratch.dir, fixture.dir, `${name.replaceAll('/', '_')}.${label}`);
          const r = await skiff('receive', name, `--session=${label}`, `--save-to=${target}`);
          assert.equal(r.code, 0, `${name} ${label}: ${r.stderr}`);
          const image = images[i];
          const expected = image === null || image === undefined ? Buffer.alloc(0) : readFileSync(join(FIXTURES, fixture.dir, image));
          assert.ok(readFileSync(target).equals(expected), `${name} ${label} differs from ${image}`);
          assert.ok(statSync(target).size === expected.length);
        }
      }
    });

    it('arch-check passes', async () => {
      const r = await skiff('arch-check');
      assert.equal(r.code, 0, r.stderr);
      for (const name of names) assert.match(r.stdout, new RegExp(`Volume '${name}'\\n  Checking indexes, data:`));
      assert.equal([...r.stdout.matchAll(/ :: OK/g)].length, [...sessions.values()].flat().length);
    });
  });
}
