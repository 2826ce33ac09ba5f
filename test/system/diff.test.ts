// `skiff diff` on a real Btrfs subvolume (in this process: cli-in-process.ts), encrypted and not:
// what it compares (the paired snapshot, an unpaired one, the volume), exact counts of differing
// chunks in both modes, Wyng's output lines and exit codes, and bad input (no --local, a missing
// volume, a size difference).

import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, renameSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { kdfMemoEnv, scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { FS_TOOLS, withLoopFs } from '../helpers/loop-fs.js';
import { requireSystem } from '../helpers/system.js';
import { keystream, makeVolume, writeAt } from '../helpers/volumes.js';

// scrypt runs in this process: use the suite's memo (cli.ts) as subprocess runs do.
Object.assign(process.env, kdfMemoEnv());

const scratch = scratchDir('skiff-diff-');
after(scratch.cleanup);
const PASSPHRASE = 'diff-test-passphrase';

const CONFIGS = [
  { encrypt: 'xchacha20-dgr', compression: 'zstd', chunkFactor: 1 },
  { encrypt: 'off', compression: 'zlib', chunkFactor: 2 },
];

describe('diff', () => {
  for (const config of CONFIGS) {
    it(`compares what Wyng compares and counts the differing chunks (${config.encrypt}, ${config.compression})`, async (t) => {
      if (!requireSystem(t, FS_TOOLS.btrfs)) return;
      await withLoopFs('btrfs', scratch.dir, 200, async ({ local }) => {
        const cs = 32768 * 2 ** config.chunkFactor;
        const dest = join(scratch.dir, `archive-${config.encrypt}`);
        const common = [`--dest=file:${dest}`, `--meta-dir=${join(scratch.dir, `meta-${config.encrypt}`)}`, `--passcmd=echo ${PASSPHRASE}`];
        const skiff = async (args: string[], code: number) => {
          const r = await runSkiffInProcess([...args, ...common]);
          assert.equal(r.code, code, `skiff ${args.join(' ')} → ${r.code}\n${r.stdout}\n${r.stderr}`);
          return r;
        };
        const diff = (args: string[], code: number) => skiff(['diff', 'vm.img', `--local=${local}`, ...args], code);
        const path = join(local, 'vm.img');
        await skiff(
          ['arch-init', `--encrypt=${config.encrypt}`, `--compression=${config.compression}`, `--chunk-factor=${config.chunkFactor}`],
          0,
        );
        // 20 chunks and a tail of 1000 bytes: 21 chunks, every 4th (index % 4 == 1) all zeros.
        writeFileSync(path, makeVolume(config.encrypt, cs, 20, 1000));
        await skiff(['send', 'vm.img', `--local=${local}`], 0);

        // Paired: the snapshot is compared, quietly.
        for (const mode of [[], ['--quick']]) {
          const r = await diff(mode, 0);
          assert.match(r.stdout, /\nVerifying volume 'vm\.img' \d{8}-\d{6}\n\[\|+\] 100% : OK \n$/);
          assert.doesNotMatch(r.stdout, /Snapshot/);
        }

        // Changes to the volume: a data chunk, a zero chunk and the tail. As in Wyng, diff still
        // compares the paired snapshot, which holds the newest session: OK.
        writeAt(path, 2 * cs + 10, keystream('two', 100));
        writeAt(path, 5 * cs, keystream('five', 10));
        writeAt(path, 20 * cs + 999, Buffer.from([0xaa]));
        await diff(['--quick'], 0);

        // Without its snapshot the volume itself is compared: stops at the first difference
        // (chunk 2) in both modes; --all-chunks counts exactly the three changed chunks.
        const snapshot = readdirSync(local).find((n) => n.endsWith('.skiff1')) as string;
        const aside = join(local, 'aside');
        mkdirSync(aside);
        renameSync(join(local, snapshot), join(aside, snapshot));
        for (const mode of [[], ['--quick']]) {
          const r = await diff(mode, 2);
          assert.match(r.stdout, /\nSnapshot not available; Comparing with source volume instead:\n\nVerifying volume 'vm\.img' /);
          assert.match(r.stdout, new RegExp(`\\] 100%   Diff bytes: ${cs}\\n$`));
          assert.match(r.stderr, /Error on volumes: vm\.img/);
          const all = await diff([...mode, '--all-chunks'], 2);
          assert.match(all.stdout, /\n3 of 21 chunks differ\.\n$/);
          // Wyng's units: a whole chunk for --quick and zero chunks, the chunk's own size otherwise.
          assert.match(all.stdout, new RegExp(`Diff bytes: ${mode.length ? 3 * cs : 2 * cs + 1000}\\n`));
        }

        // An unpaired snapshot (touched since send) is compared, with Wyng's note.
        renameSync(join(aside, snapshot), join(local, snapshot));
        utimesSync(join(local, snapshot), new Date(), new Date());
        const unpaired = await diff(['--all-chunks'], 0);
        assert.match(unpaired.stdout, /\nSnapshot is not paired:\n/);
        assert.match(unpaired.stdout, /\n0 of 21 chunks differ\.\n$/);

        // --session is ignored, as in Wyng (with a note).
        const ignored = await diff(['--session=20200101-000000', '--quick'], 0);
        assert.match(ignored.stderr, /diff ignores --session/);

        // Sent again: paired with the new session, no difference.
        await skiff(['send', 'vm.img', `--local=${local}`], 0);
        await diff(['--all-chunks'], 0);
        await diff(['--quick', '--all-chunks'], 0);

        // --vols-from: the set's --local; an alias is the local name; failures leave FILE.error.
        const sets = join(scratch.dir, `diff-${config.encrypt}.json`);
        writeFileSync(sets, JSON.stringify({ [local]: [['vm.img', null]] }));
        await skiff(['diff', `--vols-from=${sets}`, '--all-chunks'], 0);
        writeFileSync(sets, JSON.stringify({ [local]: [['vm.img', 'other.img']] }));
        const aliased = await skiff(['diff', `--local-from=${sets}`], 2);
        assert.match(aliased.stderr, /other\.img: Local volume does not exist\./);
        assert.equal(readFileSync(`${sets}.error`, 'utf8'), '{"rc": 2, "volumes": ["vm.img"]}');

        // Bad input: the volume list still ends with exit 2 and Wyng's lines.
        const noLocal = await skiff(['diff', 'vm.img'], 2);
        assert.match(noLocal.stderr, /Local storage is offline: None\nPlease specify a valid --local storage\.\n/);
        const badLocal = await skiff(['diff', 'vm.img', `--local=${join(local, 'nowhere')}`], 2);
        assert.match(badLocal.stderr, /Local storage is offline: '.*nowhere'\nPlease specify a valid --local storage\.\n/);
        const elsewhere = join(scratch.dir, `plain-${config.encrypt}`);
        mkdirSync(elsewhere);
        const missing = await skiff(['diff', 'vm.img', `--local=${elsewhere}`], 2);
        assert.match(missing.stderr, /vm\.img: Local volume does not exist\./);
        for (const name of readdirSync(local).filter((n) => n.endsWith('.skiff1'))) renameSync(join(local, name), join(aside, `${name}.2`));
        truncateSync(path, 20 * cs);
        const sizes = await diff([], 2);
        assert.match(
          sizes.stderr,
          new RegExp(`'vm\\.img' Volume sizes differ:\\n  Archive = ${20 * cs + 1000} \\n  Local   = ${20 * cs}\\n`),
        );
      });
    });
  }
});
