// Write commands read the time from the context's clock (main.ts injects the system clock),
// never from the system clock behind its back: run in-process with a fixed clock, arch-init
// and a send leave that time in archive.ini's updated_at and in the session's name.

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { Archive } from '../../source-agent/archive/archive.js';
import { runCli } from '../../source-agent/cli/run.js';
import { LocalStore } from '../../source-agent/store/local-store.js';
import { scratchDir } from '../helpers/cli.js';
import { makeVolume } from '../helpers/volumes.js';

const scratch = scratchDir('skiff-clock-');
after(scratch.cleanup);

/** 2023-11-14 22:13:20 UTC: years from when this test runs, so the system clock cannot pass for it. */
const FIXED_SECONDS = 1_700_000_000;

async function skiffAt(now: number, args: readonly string[]): Promise<{ code: number; output: string }> {
  const output: Buffer[] = [];
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => output.push(chunk));
  const code = await runCli([...args, `--meta-dir=${join(scratch.dir, 'meta')}`, '--authmin=0'], {
    stdin: Readable.from([]),
    stdout: sink,
    stderr: sink,
    env: { ...process.env, TZ: 'UTC' },
    colorDepth: 1,
    cwd: scratch.dir,
    signal: new AbortController().signal,
    now: () => now,
  });
  return { code, output: Buffer.concat(output).toString('utf8') };
}

describe('the clock of write commands', () => {
  it('is the injected one: arch-init and send stamp archive.ini and name the session by it', async () => {
    const root = join(scratch.dir, 'archive');
    mkdirSync(root);
    const source = join(scratch.dir, 'a.img');
    writeFileSync(source, makeVolume('clock', 65536, 2));
    const dest = `--dest=file:${root}`;

    const init = await skiffAt(FIXED_SECONDS, ['arch-init', dest, '--encrypt=off', '--chunk-factor=1']);
    assert.equal(init.code, 0, init.output);
    const sent = await skiffAt(FIXED_SECONDS + 60, ['send', dest, `--import-other-from=a.img:|:${source}`]);
    assert.equal(sent.code, 0, sent.output);

    const archive = await Archive.open(new LocalStore(root), { passphrase: async () => Buffer.alloc(0), now: () => FIXED_SECONDS + 60 });
    assert.equal(Math.floor(Number(archive.ini.updatedAt)), FIXED_SECONDS + 60);
    const volume = [...archive.ini.volumes.values()][0];
    assert.ok(volume, 'one volume');
    assert.match(sent.output, /20231114-221420/);
  });
});
