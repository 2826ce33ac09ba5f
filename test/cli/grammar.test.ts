// Wyng's command-line grammar and console contracts that wrapper scripts depend on.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { errorLines, runSkiff, scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { fixtureArchive, PROJECT_ROOT } from '../helpers/paths.js';

const scratch = scratchDir();
after(scratch.cleanup);
const archive = fixtureArchive('plain-zlib-64k');
const dest = `file:${archive}`;

describe('command-line grammar', () => {
  it('accepts options before and after the command, as --opt=v and --opt v', async () => {
    const forms = [
      ['--dest', dest, 'list', 'vol2.img'],
      ['list', 'vol2.img', `--dest=${dest}`],
      ['--verbose', 'list', 'vol2.img', '--dest', dest],
      ['list', '--verbose', 'vol2.img', `--dest=${dest}`],
    ];
    const outputs = [];
    for (const args of forms) {
      const r = await runSkiffInProcess(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      outputs.push(r.stdout.replace(/\(\d+ bytes\) /g, ''));
    }
    assert.equal(outputs[0], outputs[1]);
    assert.equal(outputs[2], outputs[3]);
  });

  it('prints the release line first; version exits 0', async () => {
    // A process of its own: what a wrapper script sees. The other runs here are in-process.
    const r = await runSkiff(['version']);
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `Skiff ${pkg.version} (Wyng 0.8 rc4 compatible)\n`);
  });

  it('--help lists the commands and exits 0', async () => {
    const r = await runSkiffInProcess(['--help']);
    assert.equal(r.code, 0);
    for (const command of ['list', 'verify', 'receive', 'arch-check', 'version']) assert.match(r.stdout, new RegExp(`^  ${command} `, 'm'));
  });

  it("COMMAND --help and -h print that command's usage and exit 0", async () => {
    for (const [command, flag] of [
      ['prune', '--help'],
      ['delete', '-h'],
      ['arch-deduplicate', '--help'],
      ['send', '-h'],
    ]) {
      const r = await runSkiffInProcess([command as string, flag as string]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^Usage:\\n  skiff ${command} `, 'm'));
      assert.equal(r.stderr, '');
    }
  });

  it('reads defaults from the config file; the command line wins', async () => {
    const config = join(scratch.dir, 'skiff.ini');
    writeFileSync(config, `[var-global-default]\ndest = ${dest}\nverbose = 1\nvolex = dup.img\n  empty.img\nunattended = 1\n`);
    const fromConfig = await runSkiffInProcess([`--config=${config}`, 'list', '-a']);
    assert.equal(fromConfig.code, 0, fromConfig.stderr);
    assert.deepEqual(errorLines(fromConfig), ['Ignoring config item: unattended', `Config file: ${config}`]);
    assert.match(fromConfig.stdout, /Archive Properties:/, 'verbose from the config file');
    assert.deepEqual(
      [...fromConfig.stdout.matchAll(/Sessions for volume '([^']+)'/g)].map((m) => m[1]),
      ['newvol.img', 'vol2.img'],
    );
    const overridden = await runSkiffInProcess([`--config=${config}`, 'list', '--dest=file:/nonexistent']);
    assert.equal(overridden.code, 6);
  });

  it('--quiet silences verify but not list', async () => {
    const verify = await runSkiffInProcess(['verify', 'vol2.img', `--dest=${dest}`, '--quiet']);
    assert.equal(verify.code, 0);
    assert.equal(verify.stdout, '');
    const list = await runSkiffInProcess(['list', `--dest=${dest}`, '--quiet']);
    assert.match(list.stdout, /Volumes:\n dup\.img\n/);
  });
});

describe('list output', () => {
  it('volumes, verbose: Wyng columns', async () => {
    const r = await runSkiffInProcess(['list', '--verbose', `--dest=${dest}`]);
    assert.equal(r.code, 0);
    assert.match(
      r.stdout,
      /\nArchive Properties:\n updated_at {6}= 1795880261\.701797\n uuid {12}= 05268b83-7e08-4095-9e66-a884114ff7bc\n(.*\n){5} cipher {10}= off \n ci_mode {9}= 00\n/,
    );
    assert.match(
      r.stdout,
      /\nVolumes:\n {3}0\.00 GB {2}Vol_9c0bbc {2}dup\.img {7}20261128-153738 \( {2}1\)\n {3}0\.00 GB {2}Vol_273377 {2}empty\.img {5}20261128-153738 \( {2}1\)\n {3}0\.00 GB {2}Vol_4f7d0d {2}newvol\.img {6}\( {2}0\)\n {3}0\.00 GB {2}Vol_8c7da2 {2}vol2\.img {6}20261128-153740 \( {2}3\)\n$/,
    );
  });

  it('sessions, unattended and verbose, with tags and the final two-space line', async () => {
    const plain = await runSkiffInProcess(['list', 'vol2.img', 'newvol.img', `--dest=${dest}`]);
    assert.ok(
      plain.stdout.endsWith(
        "\nSessions for volume 'newvol.img':\n\nNone.\n\nSessions for volume 'vol2.img':\n\n20261128-153734  Chg\n20261128-153738  Chg\n20261128-153740  Chg\n  \n",
      ),
      plain.stdout,
    );
    const verbose = await runSkiffInProcess(['list', 'vol2.img', '--verbose', `--dest=${dest}`]);
    assert.match(
      verbose.stdout,
      /20261128-153734 \(1100000 bytes\) Chg\n tag: base, first full backup\n20261128-153738 \(1300000 bytes\) Chg\n tag: grow\n/,
    );
  });

  it('--session filters volumes; ^tag selects sessions', async () => {
    const bySession = await runSkiffInProcess(['list', '--session=20261128-153734', `--dest=${dest}`]);
    assert.match(bySession.stdout, /\nVolumes:\n vol2\.img\n$/);
    const byTag = await runSkiffInProcess(['list', '-a', '--session=^grow', `--dest=${dest}`]);
    assert.equal([...byTag.stdout.matchAll(/^20261128-153738 /gm)].length, 3);
  });

  it('--tag lists assignments as Python tuples', async () => {
    const r = await runSkiffInProcess(['list', '--tag=', `--dest=${dest}`]);
    assert.match(
      r.stdout,
      /\nTag Assignments\n\nbase:\n {2}\('vol2\.img', '20261128-153734', 'first full backup'\)\n\ngrow:\n {2}\('dup\.img', /,
    );
  });

  it('--json: banner, blank line, then one object without a trailing newline, exact nanosecond times', async () => {
    const r = await runSkiffInProcess(['list', '--json', `--dest=${dest}`]);
    const [banner, json] = r.stdout.split('\n\n');
    assert.match(banner as string, /^Skiff .*\nUn-encrypted archive/);
    assert.ok(!r.stdout.endsWith('\n'));
    assert.match(json as string, /"ts": 1795880258988387895/);
    assert.match(json as string, /^\{"wversion": "0\.8 rc4", "fver": 3, "wdate": "20251028", /);
    const parsed = JSON.parse(json as string) as {
      volumes: Record<string, { last: string; sessions: Record<string, { sequence: number }> }>;
    };
    assert.equal(parsed.volumes['newvol.img']?.last, 'None');
    assert.deepEqual(Object.keys(parsed.volumes), ['newvol.img', 'vol2.img', 'dup.img', 'empty.img']);
    assert.equal(parsed.volumes['vol2.img']?.sessions['S_20261128-153738']?.sequence, 2);
  });
});
