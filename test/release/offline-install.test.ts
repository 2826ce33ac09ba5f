// The release tarball (release/make-release.mjs, `npm run release`) is what a Qubes dom0 gets: no
// network, no compiler. Here it is built, installed with `npm install -g --offline` from an
// empty npm cache and an unreachable registry, with a PATH holding only node and npm (no cc, gcc,
// make or python), and the installed `skiff` then runs `version` and a small file: send/receive
// with each shipped compressor (zstd: the native addon in the tarball; bz2: the wasm file), with
// a PATH of node and `sync` only. The Node and npm are this machine's unless SKIFF_RELEASE_NODE /
// SKIFF_RELEASE_NPM name others (a by-hand check on another Node; the README says which Node
// versions Qubes 4.3 has and which were checked).

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { scratchDir } from '../helpers/cli.js';
import { PROJECT_ROOT } from '../helpers/paths.js';
import { requireTool } from '../helpers/system.js';

const node = process.env['SKIFF_RELEASE_NODE'] ?? process.execPath;
const version = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** The real file behind a command on this PATH. */
function whichReal(tool: string): string {
  return realpathSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim());
}

/** A directory holding only the named commands (symlinks), to be a whole PATH. */
function toolDir(dir: string, tools: Record<string, string>): string {
  mkdirSync(dir);
  for (const [name, target] of Object.entries(tools)) symlinkSync(target, join(dir, name));
  return dir;
}

/** Runs a command with nothing from this environment but what is given. */
function run(argv: string[], env: Record<string, string>, cwd: string): { code: number; out: string } {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd as string, args, { cwd, env, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** 1 MiB: random, zeros and text, so that chunks compress differently. */
function image(): Buffer {
  const data = createCipheriv('chacha20', Buffer.alloc(32, 3), Buffer.alloc(16)).update(Buffer.alloc(1 << 20));
  data.fill(0, 512 << 10, 768 << 10);
  data.write('release test line\n'.repeat(14000), 768 << 10, 'latin1');
  return data;
}

test('the release tarball installs offline without a compiler and backs up and restores', (t) => {
  if (!requireTool(t, 'npm') || !requireTool(t, 'sync') || !requireTool(t, 'tar')) return;
  const { dir, cleanup } = scratchDir('skiff-release-');
  t.after(cleanup);

  // Built from the current sources (npm test has just built dist/, which it copies the helper from).
  execFileSync(process.execPath, [join(PROJECT_ROOT, 'release/make-release.mjs'), '--out-dir', join(dir, 'out')], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const tarball = join(dir, 'out', `skiff-${version}.tgz`);
  assert.deepEqual(readdirSync(join(dir, 'out')), [`skiff-${version}.tgz`]);

  // Nothing in it that npm would fetch, build or run at install time.
  const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
  for (const f of [
    'package/package.json',
    'package/dist/source-agent/main.js',
    'package/dist/source-agent/key-agent.js',
    'package/dist/source-agent/chunk-worker.js',
    'package/dist/source-agent/decode-worker.js',
    'package/dist/source-agent/zstd-napi.node',
    'package/dist/source-agent/bzip2.wasm',
    'package/dest-helper/skiff-dest-helper.cjs',
    'package/qubes-rpc/install.sh',
    'package/qubes-rpc/skiff.DestHelper',
  ]) {
    assert.ok(files.includes(f), `${f} is in the tarball`);
  }
  assert.deepEqual(
    files.filter((f) => /node_modules|binding\.gyp|\.gypi?$/.test(f)),
    [],
  );
  const manifestText = execFileSync('tar', ['-xOzf', tarball, 'package/package.json'], { encoding: 'utf8' });
  const manifest = JSON.parse(manifestText) as Record<string, unknown>;
  assert.equal(manifest['version'], version);
  for (const key of ['dependencies', 'optionalDependencies', 'peerDependencies', 'bundleDependencies', 'scripts', 'gypfile']) {
    assert.equal(manifest[key], undefined, `the release package.json has no ${key}`);
  }

  // Install: PATH is node and npm only; the cache is empty and the registry unreachable.
  const installPath = toolDir(join(dir, 'install-bin'), { node, npm: process.env['SKIFF_RELEASE_NPM'] ?? whichReal('npm') });
  const prefix = join(dir, 'prefix');
  const home = join(dir, 'home');
  mkdirSync(home);
  const install = run(
    [
      join(installPath, 'npm'),
      'install',
      '-g',
      '--offline',
      `--prefix=${prefix}`,
      `--cache=${join(dir, 'npm-cache')}`,
      '--registry=http://127.0.0.1:9/',
      '--no-audit',
      '--no-fund',
      '--no-update-notifier',
      tarball,
    ],
    { PATH: installPath, HOME: home },
    dir,
  );
  assert.equal(install.code, 0, install.out);

  // Run: node and sync (file: destinations flush with `sync -f`), nothing else.
  const runPath = toolDir(join(dir, 'run-bin'), { node, sync: whichReal('sync') });
  const env = { PATH: runPath, HOME: home, TZ: 'UTC' };
  const skiff = (args: string[]) => run([join(prefix, 'bin/skiff'), ...args, `--meta-dir=${join(dir, 'meta')}`, '--authmin=0'], env, dir);
  const shown = run([join(prefix, 'bin/skiff'), 'version'], env, dir);
  assert.equal(shown.code, 0, shown.out);
  assert.match(shown.out, new RegExp(`^Skiff ${version.replaceAll('.', '\\.')} `));
  const qubesHelp = run([join(prefix, 'bin/skiff-qubes'), '--help'], env, dir);
  assert.equal(qubesHelp.code, 0, qubesHelp.out);
  assert.match(qubesHelp.out, /^usage: skiff-qubes ACTION/m);

  const data = image();
  writeFileSync(join(dir, 'disk.img'), data);
  for (const compression of ['zstd:3', 'bz2']) {
    const dest = `--dest=file:${join(dir, `archive-${compression.replace(':', '')}`)}`;
    const saved = join(dir, `restored-${compression.replace(':', '')}.img`);
    for (const args of [
      ['arch-init', dest, '--encrypt=off', `--compression=${compression}`],
      ['send', `--import-other-from=disk.img:|:${join(dir, 'disk.img')}`, dest],
      ['receive', 'disk.img', `--save-to=${saved}`, dest],
    ]) {
      const r = skiff(args);
      assert.equal(r.code, 0, `${args[0]} (${compression}): ${r.out}`);
    }
    assert.ok(readFileSync(saved).equals(data), `restored image (${compression}) is byte-identical`);
  }
});
