import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { layout } from './layout.js';
import {
  chunkDirName,
  chunkFileName,
  isPrintable,
  isSessionName,
  isValidDateTime,
  isVolumeId,
  tagIdProblem,
  volumeNameProblem,
} from './names.js';

describe('names and layout', () => {
  it('formats chunk paths as Wyng does', () => {
    assert.equal(chunkFileName(0x40000), 'x0000000000040000');
    assert.equal(chunkDirName(0x40000), '000000000');
    assert.equal(chunkDirName(0x123456789a0000), '00123456a'.replace('a', '7'));
    assert.equal(
      layout.chunk('Vol_7b1cc7' as never, 'S_20261128-153704' as never, 2 ** 40),
      'Vol_7b1cc7/S_20261128-153704/000001000/x0000010000000000',
    );
  });
  it('validates ids and session names', () => {
    assert.ok(isVolumeId('Vol_7b1cc7'));
    assert.ok(!isVolumeId('Vol_'));
    assert.ok(!isVolumeId('Vol_xyz'));
    assert.ok(!isVolumeId('../Vol_1'));
    assert.ok(isSessionName('S_20261128-153704'));
    assert.ok(!isSessionName('S_20261128-153704x'));
    assert.ok(!isSessionName('S_20261332-153704'));
    assert.ok(isValidDateTime('20240229-235959'));
    assert.ok(!isValidDateTime('20230229-000000'));
    assert.ok(!isValidDateTime('20230101-240000'));
  });
  it('applies the volume-name rules', () => {
    assert.equal(volumeNameProblem('appvms/work.img'), null);
    assert.equal(volumeNameProblem('a..b'), null);
    assert.match(volumeNameProblem('') ?? '', /length/);
    assert.match(volumeNameProblem('x'.repeat(4001)) ?? '', /length/);
    assert.match(volumeNameProblem('/abs') ?? '', /Bad volume name/);
    assert.match(volumeNameProblem('a/../b') ?? '', /Bad volume name/);
    assert.match(volumeNameProblem('./a') ?? '', /Bad volume name/);
    assert.match(volumeNameProblem('new\nline') ?? '', /Non-printable/);
    assert.match(volumeNameProblem(' lead') ?? '', /spaces/);
  });
  it('treats printability like Python str.isprintable', () => {
    assert.ok(isPrintable('plain text with spaces é ü 日本'));
    assert.ok(!isPrintable('tab\t'));
    assert.ok(!isPrintable('nbsp\u00a0'));
    assert.ok(!isPrintable('zero-width\u200b'));
  });
  it('applies the tag-id rules', () => {
    assert.equal(tagIdProblem('weekly'), null);
    assert.ok(tagIdProblem('bad tag'));
    assert.ok(tagIdProblem('a,b'));
    assert.ok(tagIdProblem('^x'));
    assert.ok(tagIdProblem('ALL'));
  });
});
