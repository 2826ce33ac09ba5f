// lv_time, the creation time `lvm lvs` prints for an LV, is the pairing token of an LVM volume
// (its snapshot's time, like a reflink snapshot's mtime). LVM prints it in report/time_format of
// lvm.conf; one set to anything but the default must not become NaN in the local state and the
// archive: the send that needs the time stops with one clear line (exit 7), and nothing is stored.
// The model stands in for lvm.conf with SKIFF_LVM_MODEL_TIME_FORMAT.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertCode, MiB, withLvmSendBed } from './lvm-fixture.js';

describe('lv_time in another report/time_format', () => {
  for (const [what, format] of [
    ['seconds (%s)', '%s'],
    ['empty', ''],
  ] as const)
    it(`${what}: send stops with one line naming the LV and the format (exit 7), stores nothing; the default format works again`, (t) =>
      withLvmSendBed(t, async (bed) => {
        bed.createVolume('vm-work-private', 4 * MiB);
        const sent = await bed.send(['vm-work-private'], [], { SKIFF_LVM_MODEL_TIME_FORMAT: format });
        assertCode(sent, 7);
        assert.match(
          sent.stderr,
          new RegExp(
            `^Cannot read the creation time of LV '${bed.vg}/vm-work-private\\.skiff[12]' in 'lvm lvs' \\(lv_time ${JSON.stringify(format === '%s' ? 'x' : '').replace('x', '\\d+')}\\): Skiff reads LVM's default report/time_format "%Y-%m-%d %T %z"; check /etc/lvm/lvm\\.conf\\.$`,
            'm',
          ),
        );
        assert.doesNotMatch(sent.stdout + sent.stderr, /NaN/);
        assert.equal(bed.lv('vm-work-private.skiff2'), undefined, 'the snapshot taken is removed');
        assert.deepEqual((await bed.chunkCounts()).get('vm-work-private') ?? [], [], 'no session stored');
        const state = join(bed.work, 'meta');
        for (const file of existsSync(state) ? readdirSync(state, { recursive: true, withFileTypes: true }) : [])
          if (file.isFile()) assert.doesNotMatch(readFileSync(join(file.parentPath, file.name), 'latin1'), /NaN/, file.name);

        const again = await bed.send(['vm-work-private']);
        assertCode(again, 0);
        await bed.assertSessions(new Map([['vm-work-private', [bed.expected.get('vm-work-private') as Buffer]]]));

        // A receive of the newest session pairs the LV again, which needs the new snapshot's time:
        // the data is written, the volume fails with the same line (exit 2), and nothing is NaN.
        bed.m.run('lvm', ['lvremove', '-f', `${bed.vg}/vm-work-private`]);
        const received = await bed.skiff(['receive', 'vm-work-private', `--local=${bed.local}`, '--force'], {
          SKIFF_LVM_MODEL_TIME_FORMAT: format,
        });
        assertCode(received, 2);
        assert.match(received.stderr, /^Error: Cannot read the creation time of LV '[^']+\.skiff1' in 'lvm lvs'/m);
        assert.doesNotMatch(received.stdout + received.stderr, /NaN/);
      }));
});
