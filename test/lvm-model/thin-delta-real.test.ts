// The real thin_delta over metadata the model built (the kernel side is modelled): between a
// snapshot and a later one of the same LV it reports exactly the blocks written in between, and
// Skiff's parser and chunk mapping (source-agent/source/lvm) turn that into the right chunks.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { chunkIndexes, chunksForDelta, clipChunks } from '../../source-agent/source/lvm/delta-chunks.js';
import { parseThinDelta, type ThinDelta } from '../../source-agent/source/lvm/thin-delta-xml.js';
import { requireSystem } from '../helpers/system.js';
import { LVM_MODEL_TOOLS, type LvmModel, startLvmModel, uniqueVgName } from './harness.js';
import type { ThinLv } from './state.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const CHUNK = 256 * KiB;

async function withPool(t: TestContext, chunksize: string, fn: (m: LvmModel, vg: string) => void): Promise<void> {
  if (!requireSystem(t, LVM_MODEL_TOOLS)) return;
  const work = mkdtempSync(join(tmpdir(), 'skiff-thin-delta-'));
  const m = startLvmModel(work);
  const vg = uniqueVgName('skiffdelta');
  try {
    m.run('lvm', ['vgcreate', vg, '/dev/model-pv']);
    m.run('lvm', ['lvcreate', '--type', 'thin-pool', '-L', '128m', '-c', chunksize, '-n', 'vm-pool', vg]);
    fn(m, vg);
  } finally {
    m.close();
    rmSync(work, { recursive: true, force: true });
  }
}

const thinId = (m: LvmModel, vg: string, lv: string) => (m.state().vgs[vg]?.lvs[lv] as ThinLv | undefined)?.thinId ?? -1;

/** Wyng's delta step: snapshot the LV as .tock, reserve, thin_delta .tick → .tock, release. */
function delta(m: LvmModel, vg: string, lv: string): { xml: string; parsed: ThinDelta } {
  m.run('lvm', ['lvcreate', '-kn', '-ay', '-pr', '--addtag=wyng', '-s', `${vg}/${lv}`, '-n', `${lv}.tock`]);
  const tpool = `${vg}-vm--pool-tpool`;
  m.run('dmsetup', ['message', tpool, '0', 'reserve_metadata_snap']);
  try {
    const [left, right] = [thinId(m, vg, `${lv}.tick`), thinId(m, vg, `${lv}.tock`)];
    const xml = m.run('thin_delta', ['--metadata-snap', `--thin1=${left}`, `--thin2=${right}`, `/dev/mapper/${vg}-vm--pool_tmeta`]);
    return { xml, parsed: parseThinDelta(xml, { left, right }) };
  } finally {
    m.run('dmsetup', ['message', tpool, '0', 'release_metadata_snap']);
  }
}

const changed = (d: ThinDelta) => d.ranges.filter((r) => r.kind !== 'same').map((r) => `${r.kind} ${r.begin}+${r.length}`);

describe('real thin_delta on model metadata', () => {
  it('reports exactly the blocks written since the snapshot: shared, owned, new, discarded, the last', (t) =>
    withPool(t, '64k', (m, vg) => {
      const lv = `${vg}/vm-work-private`;
      m.run('lvm', ['lvcreate', '-kn', '-ay', '-V', '8m', '-prw', '--thin', '-n', 'vm-work-private', `${vg}/vm-pool`]);
      m.write(lv, 0, Buffer.alloc(4 * MiB, 1)); // blocks 0-63 mapped
      m.write(lv, 40 * 64 * KiB, Buffer.alloc(100, 9)); // block 40 overwritten once already (owned: in place)
      m.run('lvm', ['lvcreate', '-kn', '-ay', '-pr', '--addtag=wyng', '-s', lv, '-n', 'vm-work-private.tick']);

      m.write(lv, 5 * 64 * KiB + 1, Buffer.alloc(10, 2)); // block 5: shared with .tick → new data block
      m.write(lv, 5 * 64 * KiB + 99, Buffer.alloc(10, 3)); // block 5 again: now owned → in place
      m.write(lv, 6 * 64 * KiB, Buffer.alloc(64 * KiB, 2)); // block 6, a whole block
      m.write(lv, 100 * 64 * KiB, Buffer.alloc(10, 4)); // block 100: never mapped → right_only
      m.write(lv, 8 * MiB - 1, Buffer.alloc(1, 5)); // the very last byte: block 127
      m.discard(lv, 20 * 64 * KiB, 64 * KiB); // block 20 unmapped → left_only

      const { xml, parsed } = delta(m, vg, 'vm-work-private');
      assert.match(
        xml,
        /^<superblock uuid="" time="0" transaction="\d+" data_block_size="128" nr_data_blocks="2048">\n {2}<diff left="2" right="3">\n/,
      );
      assert.equal(parsed.dataBlockSize, 128);
      assert.deepEqual(changed(parsed), ['different 5+2', 'left_only 20+1', 'right_only 100+1', 'right_only 127+1']);

      const chunks = chunksForDelta(parsed.ranges, { dataBlockSize: 128, chunkSize: CHUNK, oldSize: 8 * MiB, newSize: 8 * MiB });
      assert.deepEqual([...chunkIndexes(chunks)], [1, 5, 25, 31]);
    }));

  it('pool blocks larger than the archive chunk (1 MiB blocks)', (t) =>
    withPool(t, '1m', (m, vg) => {
      const lv = `${vg}/big`;
      m.run('lvm', ['lvcreate', '-V', '8m', '--thin', '-n', 'big', `${vg}/vm-pool`]);
      m.write(lv, 0, Buffer.alloc(8 * MiB, 1));
      m.run('lvm', ['lvcreate', '-kn', '-ay', '-pr', '-s', lv, '-n', 'big.tick']);
      m.write(lv, 3 * MiB + 5, Buffer.alloc(1, 2));
      const { parsed } = delta(m, vg, 'big');
      assert.equal(parsed.dataBlockSize, 2048);
      assert.deepEqual(changed(parsed), ['different 3+1']);
      const chunks = chunksForDelta(parsed.ranges, { dataBlockSize: 2048, chunkSize: CHUNK, oldSize: 8 * MiB, newSize: 8 * MiB });
      assert.deepEqual([...chunkIndexes(chunks)], [12, 13, 14, 15]);
    }));

  it('growth and shrink between the snapshots', (t) =>
    withPool(t, '64k', (m, vg) => {
      m.run('lvm', ['lvcreate', '-V', '4m', '--thin', '-n', 'grow', `${vg}/vm-pool`]);
      m.write(`${vg}/grow`, 0, Buffer.alloc(4 * MiB, 1));
      m.run('lvm', ['lvcreate', '-kn', '-ay', '-s', `${vg}/grow`, '-n', 'grow.tick']);
      m.run('lvm', ['lvextend', '-L', '8m', `/dev/${vg}/grow`]);
      m.write(`${vg}/grow`, 6 * MiB, Buffer.alloc(1, 2));
      const grown = delta(m, vg, 'grow').parsed;
      assert.deepEqual(changed(grown), ['right_only 96+1']);
      const g = chunksForDelta(grown.ranges, { dataBlockSize: 128, chunkSize: CHUNK, oldSize: 4 * MiB, newSize: 8 * MiB });
      assert.deepEqual(g, [{ start: 16, end: 32 }], 'every new chunk');

      m.run('lvm', ['lvcreate', '-V', '8m', '--thin', '-n', 'shrink', `${vg}/vm-pool`]);
      m.write(`${vg}/shrink`, 0, Buffer.alloc(8 * MiB, 1));
      m.run('lvm', ['lvcreate', '-kn', '-ay', '-s', `${vg}/shrink`, '-n', 'shrink.tick']);
      m.run('lvm', ['lvresize', '-L', `${4 * MiB}b`, '-f', `/dev/${vg}/shrink`]);
      const shrunk = delta(m, vg, 'shrink').parsed;
      assert.deepEqual(changed(shrunk), ['left_only 64+64']);
      const s = chunksForDelta(shrunk.ranges, { dataBlockSize: 128, chunkSize: CHUNK, oldSize: 8 * MiB, newSize: 4 * MiB });
      assert.deepEqual(s, [{ start: 16, end: 32 }], 'kept for the deltamap');
      assert.deepEqual(clipChunks(s, 16), [], 'nothing to read from the shrunk volume');
    }));
});
