// The chunk-file size bound (spec §11), the one rule readers, send workers and the protocol's
// frame size all follow.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DATA_PIECE_BYTES } from '../../protocol/messages.js';
import { CHUNK_SIZES } from './archive-ini.js';
import { maxChunkFileBytes } from './chunk-file.js';

describe('maxChunkFileBytes', () => {
  it('is the chunk size and 1/64 of it', () => {
    assert.equal(maxChunkFileBytes(65536), 65536 + 1024);
    assert.equal(maxChunkFileBytes(2097152), 2097152 + 32768);
  });
  it('lets a whole chunk file of the largest chunk size travel in one protocol data piece', () => {
    assert.ok(maxChunkFileBytes(Math.max(...CHUNK_SIZES)) <= DATA_PIECE_BYTES);
  });
});
