// Cross-tool, by hand: real Wyng lists and restores every volume of an archive skiff-qubes wrote
// (on the Qubes model: Qubes is modelled — Admin API on a Unix socket, volumes as thin LVs of the
// LVM thin-pool model). Wyng is GPL and stays out of the repository, so this runs only with
// WYNG=/path/to/wyng-backup/src/wyng (and /usr/bin/python3 with Cryptodome); otherwise it skips:
//
//   WYNG=… node --test dist/test/compat/wyng-reads-skiff-qubes.test.js
//
// The archive is unencrypted and zlib-compressed (Wyng runs without python3-zstd).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { readTarGz } from '../../source-agent/qubes/metadata-tar.js';
import { runQubesCli } from '../../source-agent/qubes/run.js';
import { hermetic, scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { requireSystem } from '../helpers/system.js';
import { QUBES_MODEL_TOOLS, type QubesHostModel, startQubesModel } from '../qubes-model/harness.js';

const WYNG = process.env['WYNG'];
const SIZE = 4 * 1024 * 1024;
const scratch = scratchDir('skiff-qubes-wyng-reads-');
let host: QubesHostModel | null = null;
after(async () => {
  try {
    await host?.close();
  } finally {
    scratch.cleanup();
  }
});

function sink(into: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer | string, _e, done) {
      into.push(Buffer.from(chunk));
      done();
    },
  });
}

function readLv(h: QubesHostModel, lv: string): Buffer {
  const buffer = Buffer.alloc(SIZE);
  const fd = openSync(h.lvPath(lv), 'r');
  try {
    readSync(fd, buffer, 0, SIZE, 0);
  } finally {
    closeSync(fd);
  }
  return buffer;
}

describe('Wyng reads an archive skiff-qubes wrote (by hand: WYNG=…)', () => {
  it('lists and restores every volume', async (t) => {
    if (!WYNG) {
      t.skip('set WYNG to the path of Wyng 0.8 src/wyng to run Wyng as the oracle');
      return;
    }
    if (!requireSystem(t, QUBES_MODEL_TOOLS)) return;
    host = await startQubesModel(scratch.dir, { privateSize: SIZE });
    process.env['PATH'] = host.env['PATH'];
    process.env['SKIFF_LVM_MODEL_DIR'] = host.lvm.dir;
    const dest = join(scratch.dir, 'archive');
    const init = await runSkiffInProcess(['arch-init', `--dest=file:${dest}`, '--encrypt=off', '--compression=zlib']);
    assert.equal(init.code, 0, init.stderr);
    host.lvm.write(`${host.vg}/vm-work-private`, 0, Buffer.alloc(300_000, 0x11));
    host.lvm.write(`${host.vg}/vm-personal-private`, 1_000_000, Buffer.alloc(70_000, 0x22));
    const out: Buffer[] = [];
    const stdin = new PassThrough();
    stdin.end();
    const code = await runQubesCli(hermetic(['backup', 'work', 'personal', `--dest=file:${dest}`, '-u']), {
      stdin,
      stdout: sink(out),
      stderr: sink(out),
      env: { ...process.env, ...host.env },
      colorDepth: 1,
      cwd: scratch.dir,
      signal: new AbortController().signal,
      now: () => Date.now() / 1000,
    });
    assert.equal(code, 0, Buffer.concat(out).toString());

    const meta = join(scratch.dir, 'wyng-meta');
    mkdirSync(meta);
    const wyng = (...args: string[]) =>
      execFileSync('/usr/bin/python3', [WYNG, `--meta-dir=${meta}`, '-u', `--dest=file:${dest}`, ...args], { encoding: 'utf8' });
    const listed = wyng('list');
    for (const volume of ['vm-personal-private', 'vm-work-private', 'wyng-qubes-metadata'])
      assert.match(listed, new RegExp(`\\b${volume}\\b`));
    for (const vm of ['work', 'personal']) {
      const file = join(scratch.dir, `${vm}.img`);
      wyng(`--save-to=${file}`, 'receive', `vm-${vm}-private`);
      assert.ok(readFileSync(file).equals(readLv(host, `vm-${vm}-private`)), `Wyng restored vm-${vm}-private byte-identical`);
    }
    const tar = join(scratch.dir, 'meta.tgz');
    wyng(`--save-to=${tar}`, 'receive', 'wyng-qubes-metadata');
    assert.ok(readTarGz(readFileSync(tar)).has('qubes.xml'));
    assert.match(wyng('list', '--tag', 'vm-work-private'), /qubes/);
  });
});
