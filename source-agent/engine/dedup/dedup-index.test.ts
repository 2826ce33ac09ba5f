// The index's compact structures: the stable prefix sort, the search, the table of chunks added
// during a send, and that chunks whose hashes share the 8-byte prefix are told apart.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Archive } from '../../archive/archive.js';
import type { VolumeId } from '../../archive/names.js';
import { DedupIndex } from './dedup-index.js';
import { AddedTable, lowerBound, prefixOf, RecordList, STRIDE, sortByPrefix } from './prefix-table.js';

describe('prefix table', () => {
  it('sorts by prefix, keeping insertion order among equal prefixes', () => {
    const list = new RecordList();
    const expected: [number, number, number][] = [];
    for (let i = 0; i < 5000; i++) {
      const hi = i % 7 === 0 ? 0x80000000 : randomBytes(4).readUInt32BE(0);
      const lo = i % 7 === 0 ? 5 : randomBytes(4).readUInt32BE(0);
      list.push(hi, lo, i, i * 3);
      expected.push([hi, lo, i]);
    }
    const sorted = sortByPrefix(list.take());
    expected.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
    for (let i = 0; i < expected.length; i++) {
      const [hi, lo, session] = expected[i] as [number, number, number];
      assert.deepEqual([...sorted.subarray(i * STRIDE, i * STRIDE + 4)], [hi, lo, session, session * 3]);
    }
    const first = lowerBound(sorted, 0x80000000, 5);
    assert.equal(sorted[first * STRIDE + 2], 0, 'the first of equal prefixes is the first inserted');
  });

  it('keeps several records with one prefix in the added table, across growth', () => {
    const table = new AddedTable();
    for (let i = 0; i < 3000; i++) table.add(i, i, i, i);
    table.add(7, 7, 9999, 1);
    const slots = [...table.slotsFor(7, 7)].map((slot) => table.session(slot));
    assert.deepEqual(slots.sort(), [7, 9999]);
    assert.deepEqual([...table.slotsFor(123456, 1)], []);
  });

  it('reads the prefix big-endian', () => {
    assert.deepEqual(prefixOf(Uint8Array.from([1, 2, 3, 4, 0xff, 0, 0, 1, 9])), [0x01020304, 0xff000001]);
  });
});

describe('dedup index', () => {
  it('confirms the full hash: chunks sharing an 8-byte prefix are not confused', async () => {
    const empty = { ini: { volumes: new Map() } } as unknown as Archive;
    const index = await DedupIndex.build(empty, { warn: () => {} });
    const hashes = new Uint8Array(32 * 4);
    const a = randomBytes(32);
    const b = Buffer.from(a);
    b[31] = (b[31] as number) ^ 1; // same prefix, different hash
    hashes.set(a, 0);
    hashes.set(b, 32 * 2);
    const session = index.addPendingSession('Vol_aaaaaa' as VolumeId, hashes);
    assert.equal(await index.find(a), null);
    index.add(a, { session, chunk: 0 });
    assert.equal(await index.find(b), null, 'a prefix match with another hash is a miss');
    index.add(b, { session, chunk: 2 });
    assert.deepEqual(await index.find(a), { session, chunk: 0 });
    assert.deepEqual(await index.find(b), { session, chunk: 2 });
    assert.equal(index.path({ session, chunk: 2 }, 65536), 'Vol_aaaaaa/S-tmp/000000000/x0000000000020000');
    // EMLINK substitution: later links for b go to chunk 3 (its hash is b's too).
    hashes.set(b, 32 * 3);
    index.substitute(b, { session, chunk: 2 }, { session, chunk: 3 });
    assert.deepEqual(await index.find(b), { session, chunk: 3 });
    index.abandoned(session);
    assert.equal(await index.find(a), null, 'a removed session is never linked to');
  });
});
