// The budgets leave room for everything an honest helper sends (dest-helper/operations.ts cuts
// reads into pieces of DATA_PIECE_BYTES and lists into pieces of LIST_PIECE_NAMES), and the
// deadline's allowance grows with the bytes a request may move.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DATA_PIECE_BYTES, LIST_PIECE_NAMES } from '../../../protocol/messages.js';
import { listBudget, MAX_LIST_NAMES, MIN_BYTES_PER_SECOND, readBudget, singleReplyBudget, transferAllowanceMs } from './request-budget.js';

/** Pieces an honest helper sends for `items` items, `perPiece` a piece (one, when empty). */
const honestPieces = (items: number, perPiece: number) => Math.max(1, Math.ceil(items / perPiece));

describe('request budgets', () => {
  it('a read of any size up to its bound fits in the pieces an honest helper sends', () => {
    for (const max of [0, 1, 4096, DATA_PIECE_BYTES, DATA_PIECE_BYTES + 1, 184_296, 64 << 20, 2 ** 32]) {
      const budget = readBudget(max);
      assert.equal(budget.dataBytes, max);
      assert.ok(honestPieces(max, DATA_PIECE_BYTES) <= budget.pieces, `read of ${max}`);
      assert.ok(budget.pieces <= 8 + 4 * Math.ceil(max / 2 ** 20), 'a few pieces a MiB and a small constant');
    }
  });

  it('a list of the largest directory an archive has fits, names, bytes and pieces', () => {
    const budget = listBudget();
    assert.equal(budget.names, MAX_LIST_NAMES);
    // Chunk file names are the longest Skiff makes ("x" + 16 hex digits, "-lnk" on leftovers).
    assert.ok(MAX_LIST_NAMES * 'x0000000000000000-lnk'.length <= budget.nameBytes);
    assert.ok(honestPieces(MAX_LIST_NAMES, LIST_PIECE_NAMES) <= budget.pieces);
  });

  it('other requests get one reply frame, and time for their payload', () => {
    assert.equal(singleReplyBudget().pieces, 1);
    assert.equal(singleReplyBudget(1000).transferBytes, 1000);
  });

  it('allows a second per MIN_BYTES_PER_SECOND bytes', () => {
    assert.equal(transferAllowanceMs(0), 0);
    assert.equal(transferAllowanceMs(MIN_BYTES_PER_SECOND), 1000);
    assert.equal(transferAllowanceMs(64 << 20), ((64 << 20) / MIN_BYTES_PER_SECOND) * 1000);
  });
});
