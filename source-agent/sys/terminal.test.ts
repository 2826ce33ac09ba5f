// readLine: one line at a time, what follows it kept for the next question, end of input as null.

import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { readLine } from './terminal.js';

describe('readLine', () => {
  it('reads a line at a time, keeping what was typed after it for the next read', async () => {
    const input = new PassThrough();
    input.write('yes\r\nsecond line\nthi');
    assert.equal(await readLine(input), 'yes');
    assert.equal(await readLine(input), 'second line');
    const third = readLine(input);
    input.write('rd\n');
    assert.equal(await third, 'third');
  });

  it('gives null at end of input, also when asked again; a last line without a line break is a line', async () => {
    const input = new PassThrough();
    input.end('last');
    assert.equal(await readLine(input), 'last');
    assert.equal(await readLine(input), null);
    const empty = new PassThrough();
    empty.end();
    assert.equal(await readLine(empty), null);
    assert.equal(await readLine(empty), null);
  });
});
