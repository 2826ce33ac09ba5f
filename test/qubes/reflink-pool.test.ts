// skiff-qubes backup from a file-reflink pool (Qubes' `varlibqubes` on Btrfs) on the Qubes model
// (Qubes is modelled: Admin API on a Unix socket; the pool's volumes are sparse files DIR/VID.img
// on a real Btrfs subvolume): the archive names the volume by its vid plus .img,
// `appvms/NAME/private.img`, as wyng-util-qubes does, and holds its bytes; restored with --pool
// into an lvm_thin pool, it becomes the LV vm-NAME-private.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { runQubesCli } from '../../source-agent/qubes/run.js';
import { hermetic, scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { FS_TOOLS, withLoopFs } from '../helpers/loop-fs.js';
import { requireSystem } from '../helpers/system.js';
import { QUBES_MODEL_TOOLS, readLv, runSkiffQubes, startQubesModel } from '../qubes-model/harness.js';

const scratch = scratchDir('skiff-qubes-reflink-');
after(scratch.cleanup);

describe('skiff-qubes and a file-reflink pool (on the Qubes model)', () => {
  it('backs up an AppVM of the pool as appvms/NAME/private.img, and restores it into an lvm_thin pool', async (t) => {
    if (!requireSystem(t, [...QUBES_MODEL_TOOLS, ...FS_TOOLS.btrfs])) return;
    const host = await startQubesModel(scratch.dir, { withVolumes: [] });
    try {
      process.env['PATH'] = host.env['PATH'];
      process.env['SKIFF_LVM_MODEL_DIR'] = host.lvm.dir;
      await withLoopFs('btrfs', scratch.dir, 200, async ({ local }) => {
        host.model.setPoolDirectory('varlibqubes', local);
        await host.admin.call('admin.vm.CreateInPool.AppVM', 'dom0', 'fedora-41-xfce', 'name=notes label=green pool=varlibqubes');
        const image = join(local, 'appvms/notes/private.img');
        const data = Buffer.alloc(2 * 1024 * 1024);
        data.fill(0x42, 100_000, 400_000);
        writeFileSync(image, data);
        const dest = join(scratch.dir, 'archive');
        assert.equal((await runSkiffInProcess(['arch-init', `--dest=file:${dest}`, '--encrypt=off'])).code, 0);
        const out: Buffer[] = [];
        const stdin = new PassThrough();
        stdin.end();
        const sink = new Writable({
          write(chunk: Buffer | string, _e, done) {
            out.push(Buffer.from(chunk));
            done();
          },
        });
        const code = await runQubesCli(hermetic(['backup', 'notes', `--dest=file:${dest}`, '-u']), {
          stdin,
          stdout: sink,
          stderr: sink,
          env: { ...process.env, ...host.env },
          colorDepth: 1,
          cwd: scratch.dir,
          signal: new AbortController().signal,
          now: () => Date.now() / 1000,
        });
        assert.equal(code, 0, Buffer.concat(out).toString());
        const listed = await runSkiffInProcess([`--dest=file:${dest}`, 'list']);
        assert.deepEqual(
          listed.stdout
            .trim()
            .split('\n')
            .slice(-2)
            .map((line) => line.trim()),
          ['appvms/notes/private.img', 'wyng-qubes-metadata'],
        );
        const saved = join(scratch.dir, 'notes.img');
        const got = await runSkiffInProcess([`--dest=file:${dest}`, `--save-to=${saved}`, 'receive', 'appvms/notes/private.img']);
        assert.equal(got.code, 0, got.stderr);
        assert.ok(readFileSync(saved).equals(data));

        // Restored into an lvm_thin pool (--pool for the re-created VM): the reflink archive name
        // is received as the LV vm-notes-private (an alias in the --local-from file), as wyng-util-qubes does.
        await host.admin.call('admin.vm.Remove', 'notes');
        const restored = await runSkiffQubes(['restore', '--pool=vm-pool', 'notes'], { dest, host, cwd: scratch.dir });
        assert.equal(restored.code, 0, restored.stdout + restored.stderr);
        assert.match(await host.admin.call('admin.vm.volume.Info', 'notes', 'private'), /^pool=vm-pool$/m);
        assert.ok(readLv(host, 'vm-notes-private', data.length).equals(data), 'the reflink volume restored byte-identical into the LV');
      });
    } finally {
      await host.close();
    }
  });
});
