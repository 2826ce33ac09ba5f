// The built CLI on real Btrfs volumes (a loop device): two identical volumes sent with --dedup
// in one send store each chunk once; the same archive content sent without --dedup and then
// run through arch-deduplicate ends the same. Both restore byte for byte and pass arch-check.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { FS_TOOLS, withLoopFs } from '../helpers/loop-fs.js';
import { requireSystem } from '../helpers/system.js';
import { makeVolume } from '../helpers/volumes.js';
import { chunkCensus, distinctChunks } from './dedup-helpers.js';

const scratch = scratchDir('skiff-dedup-cli-');
after(scratch.cleanup);

function archive(name: string) {
  const dir = join(scratch.dir, name);
  const common = [`--dest=file:${dir}`, `--meta-dir=${join(scratch.dir, `${name}-meta`)}`, '--passcmd=echo dedup-cli-passphrase'];
  const skiff = async (args: string[], code = 0) => {
    const r = await runSkiffInProcess([...args, ...common]);
    assert.equal(r.code, code, `skiff ${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
    return r;
  };
  return { dir, skiff };
}

describe('dedup through the CLI (Btrfs)', () => {
  it('send --dedup and arch-deduplicate store each chunk once; restores and arch-check pass', async (t) => {
    if (!requireSystem(t, FS_TOOLS.btrfs)) return;
    await withLoopFs('btrfs', scratch.dir, 300, async ({ local }) => {
      const image = makeVolume('dedup-cli', 65536, 24, 1000);
      writeFileSync(join(local, 'a.img'), image);
      writeFileSync(join(local, 'b.img'), image);
      const expectedInodes = distinctChunks([image]);

      const deduped = archive('deduped');
      await deduped.skiff(['arch-init', '--encrypt=xchacha20-dgr', '--chunk-factor=1']);
      const sent = await deduped.skiff(['send', 'a.img', 'b.img', `--local=${local}`, '--dedup', '--verbose']);
      assert.match(sent.stdout, /Volume 'b\.img'\n {2}\[\|+\] {2}100% {2}0\.0MB \n {5}-\d+\.\dMB \(dedup\)\n/);
      assert.deepEqual(chunkCensus(deduped.dir), { files: 2 * (expectedInodes - 0), inodes: expectedInodes, leftovers: 0 });

      const plain = archive('plain');
      await plain.skiff(['arch-init', '--encrypt=off', '--chunk-factor=1']);
      await plain.skiff(['send', 'a.img', 'b.img', `--local=${local}`]);
      assert.equal(chunkCensus(plain.dir).inodes, chunkCensus(plain.dir).files);
      const dd = await plain.skiff(['arch-deduplicate']);
      assert.match(
        dd.stdout,
        /\nBuilding deduplication index\.\.\.\n\d+MB free on destination\.\nlinking\.\.\. done\.\n\d+MB free after\.\n/,
      );
      assert.equal(chunkCensus(plain.dir).inodes, expectedInodes);

      for (const a of [deduped, plain]) {
        await a.skiff(['arch-check']);
        for (const volume of ['a.img', 'b.img']) {
          const target = join(scratch.dir, `${a.dir.split('/').at(-1)}-${volume}`);
          await a.skiff(['receive', volume, `--save-to=${target}`]);
          assert.ok(readFileSync(target).equals(image), `${volume} restores byte for byte`);
        }
      }
    });
  });
});
