// --import-other-from with a plain file and a loop block device; and send killed with SIGKILL
// part-way: every earlier session stays restorable, arch-check passes, the next send succeeds.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { FS_TOOLS, withLoopFs } from '../helpers/loop-fs.js';
import { CLI } from '../helpers/paths.js';
import { attachLoop, requireSystem } from '../helpers/system.js';
import { keystream, makeVolume, writeAt } from '../helpers/volumes.js';

const scratch = scratchDir('skiff-import-');
after(scratch.cleanup);
let counter = 0;

function newArchive(encrypt = 'off') {
  const n = counter++;
  const common = [
    `--dest=file:${join(scratch.dir, `a${n}`)}`,
    `--meta-dir=${join(scratch.dir, `m${n}`)}`,
    '--authmin=0',
    '--passcmd=echo import-test-passphrase',
  ];
  const skiff = async (args: string[], code = 0) => {
    const r = await runSkiffInProcess([...args, ...common]);
    assert.equal(r.code, code, `skiff ${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
    return r;
  };
  return { dir: join(scratch.dir, `a${n}`), common, skiff, init: () => skiff(['arch-init', `--encrypt=${encrypt}`, '--chunk-factor=1']) };
}

async function restored(archive: ReturnType<typeof newArchive>, volume: string, session?: string): Promise<Buffer> {
  const target = join(scratch.dir, `r${counter++}.img`);
  await archive.skiff(['receive', volume, `--save-to=${target}`, ...(session ? [`--session=${session}`] : [])]);
  return readFileSync(target);
}

describe('--import-other-from', () => {
  it('round-trips a plain file; a second send stores only changed chunks', async () => {
    const archive = newArchive('xchacha20-msr');
    await archive.init();
    const source = join(scratch.dir, 'disk.raw');
    writeFileSync(source, makeVolume('import', 65536, 20, 123));
    const first = await archive.skiff(['send', `--import-other-from=imported.raw:|:${source}`]);
    assert.match(first.stdout, /Queuing full scan of import 'imported\.raw'/);
    assert.ok((await restored(archive, 'imported.raw')).equals(readFileSync(source)));
    writeAt(source, 3 * 65536 + 7, keystream('import-change', 10));
    await archive.skiff(['send', 'imported.raw', `--import-other-from=imported.raw:|:${source}`]);
    const vol = readdirSync(archive.dir).find((n) => n.startsWith('Vol_')) as string;
    const sessions = readdirSync(join(archive.dir, vol))
      .filter((n) => n.startsWith('S_'))
      .sort();
    assert.equal(sessions.length, 2);
    assert.deepEqual(readdirSync(join(archive.dir, vol, sessions[1] as string, '000000000')), ['x0000000000030000']);
    assert.ok((await restored(archive, 'imported.raw')).equals(readFileSync(source)));
    // Imports get a session on every send, as in Wyng, even when nothing changed.
    await archive.skiff(['send', `--import-other-from=imported.raw:|:${source}`]);
    assert.equal(readdirSync(join(archive.dir, vol)).filter((n) => n.startsWith('S_')).length, 3);
  });

  it('round-trips a loop block device', async (t) => {
    if (!requireSystem(t, ['losetup'])) return;
    const archive = newArchive();
    await archive.init();
    const backing = join(scratch.dir, 'block.img');
    const content = makeVolume('block', 65536, 32);
    writeFileSync(backing, content);
    const loop = attachLoop(backing);
    try {
      await archive.skiff(['send', `--import-other-from=blockvol:|:${loop.device}`]);
      assert.ok((await restored(archive, 'blockvol')).equals(content));
    } finally {
      loop.detach();
    }
  });

  it('reports a source that is not a file or block device as a failed volume; refuses a bad spec', async () => {
    const archive = newArchive();
    await archive.init();
    const r = await archive.skiff(['send', `--import-other-from=x:|:${scratch.dir}`], 2);
    assert.match(r.stderr, /is not a regular file or block device/);
    const bad = await archive.skiff(['send', '--import-other-from=nopath'], 9);
    assert.match(bad.stderr, /needs VOLUME:\|:PATH/);
  });
});

describe('send killed part-way (SIGKILL)', () => {
  it('keeps every earlier session restorable, and the next send succeeds', async (t) => {
    if (!requireSystem(t, FS_TOOLS.btrfs)) return;
    await withLoopFs('btrfs', scratch.dir, 200, async ({ local }) => {
      const archive = newArchive();
      await archive.init();
      const path = join(local, 'big.img');
      writeFileSync(path, makeVolume('crash-1', 65536, 64));
      await archive.skiff(['send', 'big.img', `--local=${local}`]);
      const firstImage = readFileSync(path);
      // A whole new volume, read slowly (test-only SKIFF_TEST_READ_DELAY_MS: 256 chunks, 6 ms
      // each, more than 1.5 s of reading with every chunk hashed, compressed and written in
      // between), so that the send runs long enough to be killed at several points.
      writeFileSync(path, keystream('crash-2', 16 * 1024 * 1024));
      const slowly = { ...process.env, SKIFF_TEST_READ_DELAY_MS: '6' };
      const delays = [50, 150, 300, 600, 1000];
      let killedBeforeEnd = 0;
      for (const delay of delays) {
        const child = spawn(process.execPath, [CLI, 'send', 'big.img', `--local=${local}`, ...archive.common], {
          stdio: 'ignore',
          env: slowly,
        });
        const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
        await sleep(delay);
        child.kill('SIGKILL');
        if ((await exited) === null) killedBeforeEnd++;
        // Every earlier session restores, and the archive checks out.
        assert.ok(
          (
            await restored(
              archive,
              'big.img',
              readdirSync(join(archive.dir, readdirSync(archive.dir).find((n) => n.startsWith('Vol_')) as string))
                .filter((n) => n.startsWith('S_'))
                .sort()[0]
                ?.slice(2),
            )
          ).equals(firstImage),
        );
        await archive.skiff(['arch-check']);
      }
      assert.ok(killedBeforeEnd >= 3, `only ${killedBeforeEnd} runs were killed before finishing`);
      await archive.skiff(['send', 'big.img', `--local=${local}`]);
      assert.ok((await restored(archive, 'big.img')).equals(readFileSync(path)));
      const vol = readdirSync(archive.dir).find((n) => n.startsWith('Vol_')) as string;
      assert.deepEqual(
        readdirSync(join(archive.dir, vol)).filter((n) => n.endsWith('.tmp') || n === 'S-tmp'),
        [],
        'no temporary files are left',
      );
    });
  });
});
