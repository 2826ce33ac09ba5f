// receive --save-to a real block device (a loop device): the volume is written in place, zero
// chunks are zeroed (the device held other data), bytes past the volume are left alone; a
// failed receive zeroes the first chunk, so a partial restore never looks like a good one.

import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { copyFixture, scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { FIXTURES, fixtureArchive } from '../helpers/paths.js';
import { attachLoop, readDevice, requireSystem } from '../helpers/system.js';

const scratch = scratchDir();
after(scratch.cleanup);
const DEVICE_BYTES = 2 * 1024 * 1024;
const image = readFileSync(join(FIXTURES, 'plain-zlib-64k/vol2.session4.img'));

function withLoop(name: string, bytes: number, fn: (device: string, backing: string) => Promise<void>): Promise<void> {
  const backing = join(scratch.dir, name);
  writeFileSync(backing, Buffer.alloc(bytes, 0xaa));
  const loop = attachLoop(backing);
  return fn(loop.device, backing).finally(loop.detach);
}

describe('receive to a block device', () => {
  it('restores byte-identical, zeroes zero chunks, leaves the rest of the device alone', async (t) => {
    if (!requireSystem(t, ['losetup'])) return;
    await withLoop('good.img', DEVICE_BYTES, async (device) => {
      const r = await runSkiffInProcess([`--dest=file:${fixtureArchive('plain-zlib-64k')}`, 'receive', 'vol2.img', `--save-to=${device}`]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`Saving to block device '${device}'`));
      const content = readDevice(device, DEVICE_BYTES);
      assert.ok(content.subarray(0, image.length).equals(image), 'volume bytes differ');
      assert.ok(
        content.subarray(0x20000, 0x30000).every((b) => b === 0),
        'the zero chunk was zeroed',
      );
      assert.ok(
        content.subarray(image.length).every((b) => b === 0xaa),
        'bytes past the volume were touched',
      );
    });
  });

  it("does not write zero chunks: their ranges are discarded (the loop's backing file gets holes) and read as zeros", async (t) => {
    if (!requireSystem(t, ['losetup', 'blkdiscard'])) return;
    await withLoop('holes.img', DEVICE_BYTES, async (device, backing) => {
      const before = statSync(backing).blocks;
      const r = await runSkiffInProcess([`--dest=file:${fixtureArchive('plain-zlib-64k')}`, 'receive', 'vol2.img', `--save-to=${device}`]);
      assert.equal(r.code, 0, r.stderr);
      const content = readDevice(device, DEVICE_BYTES);
      assert.ok(content.subarray(0, image.length).equals(image), 'volume bytes differ');
      // The zero chunk at 0x20000 (64 KiB = 128 sectors) was freed, not written.
      assert.ok(statSync(backing).blocks <= before - 128, `backing file blocks ${before} → ${statSync(backing).blocks}: no hole`);
      assert.ok(
        content.subarray(image.length).every((b) => b === 0xaa),
        'bytes past the volume were touched',
      );
    });
  });

  it('zeroes the first chunk when a chunk fails its check', async (t) => {
    if (!requireSystem(t, ['losetup'])) return;
    const archive = copyFixture('plain-zlib-64k', join(scratch.dir, 'damaged'));
    const chunk = join(archive, 'Vol_8c7da2/S_20261128-153734/000000000/x0000000000080000');
    const bytes = readFileSync(chunk);
    bytes[10] = (bytes[10] as number) ^ 1;
    writeFileSync(chunk, bytes);
    await withLoop('bad.img', DEVICE_BYTES, async (device) => {
      const r = await runSkiffInProcess([`--dest=file:${archive}`, 'receive', 'vol2.img', `--save-to=${device}`]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /x0000000000080000: bad hash.*the first 65536 bytes of .* were zeroed/);
      const content = readDevice(device, DEVICE_BYTES);
      assert.ok(
        content.subarray(0, 65536).every((b) => b === 0),
        'first chunk not zeroed',
      );
    });
  });

  it('refuses a device smaller than the volume', async (t) => {
    if (!requireSystem(t, ['losetup'])) return;
    await withLoop('small.img', 512 * 1024, async (device) => {
      const r = await runSkiffInProcess([`--dest=file:${fixtureArchive('plain-zlib-64k')}`, 'receive', 'vol2.img', `--save-to=${device}`]);
      assert.equal(r.code, 9, r.stderr);
      assert.match(r.stderr, /holds 524288 bytes, less than the volume's 900000/);
      assert.ok(
        readDevice(device, 512 * 1024).every((b) => b === 0xaa),
        'a refused receive wrote to the device',
      );
    });
  });
});
