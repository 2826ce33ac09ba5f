import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LocalState, packDeltamap, unpackDeltamap } from '../state/local-state.js';
import { foldDeltamap, markResize, withDeltamap } from './deltamap.js';

describe('deltamap', () => {
  it("packs one bit per chunk, LSB first, in Wyng's size (chunks // 8 + 1 bytes)", () => {
    const changed = new Uint8Array(17);
    changed[0] = 1;
    changed[9] = 1;
    changed[16] = 1;
    const bits = packDeltamap(changed);
    assert.deepEqual([...bits], [0x01, 0x02, 0x01]);
    assert.deepEqual([...unpackDeltamap(bits, 17)], [...changed]);
    assert.deepEqual([...unpackDeltamap(bits, 30)].slice(17), new Array(13).fill(0), 'bits past the file read as 0');
  });

  it('marks the chunks between two sizes', () => {
    const marks = new Uint8Array(8);
    markResize(marks, 3 * 1024, 6 * 1024 + 1, 1024);
    assert.deepEqual([...marks], [0, 0, 0, 1, 1, 1, 1, 0]);
  });

  it('folds marks into the stored map; a recorded map that is gone is reported, not taken as empty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-deltamap-'));
    try {
      const state = await LocalState.open(dir, 'u', 'file:/x');
      const first = await foldDeltamap(state, 'Vol_a', Uint8Array.from([1, 0, 0, 1]), false);
      assert.deepEqual(first, { map: Uint8Array.from([1, 0, 0, 1]), newlyMarked: 2 });
      await state.saveDeltamap('Vol_a', first?.map ?? new Uint8Array());
      const second = await foldDeltamap(state, 'Vol_a', Uint8Array.from([1, 1, 0, 0, 1]), true);
      assert.deepEqual(second, { map: Uint8Array.from([1, 1, 0, 1, 1]), newlyMarked: 2 });
      assert.deepEqual(await withDeltamap(state, 'Vol_a', Uint8Array.from([0, 0, 1, 0])), Uint8Array.from([1, 0, 1, 1]));
      await state.removeDeltamap('Vol_a');
      assert.equal(await foldDeltamap(state, 'Vol_a', Uint8Array.from([1]), true), null);
      assert.equal(await withDeltamap(state, 'Vol_a', Uint8Array.from([1])), null);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
