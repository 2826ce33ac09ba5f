import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isArchivePath, isEntryName } from './paths.js';

describe('archive paths and listed names', () => {
  it('accepts the names an archive has', () => {
    for (const path of ['.', 'archive.ini', 'Vol_8c7da2/S_20261128-153740/000000000/x0000000000000000', '.skiff-put-1234'])
      assert.equal(isArchivePath(path), true, path);
    for (const name of ['archive.ini', 'Vol_8c7da2', 'S_20261128-153740', 'x0000000000000000', 'é中'])
      assert.equal(isEntryName(name), true, name);
  });

  it('refuses control characters a terminal would interpret (C0, DEL, C1, bidi, lone surrogates)', () => {
    const hostile = [
      '\x1b[2J',
      '\x1b]0;title\x07',
      'a\nb',
      'a\rb',
      'a\tb',
      '\x7f',
      '\u009b31m',
      '\u0085',
      'abc\u202eexe.txt',
      '\u2066x',
      '\ud800',
    ];
    for (const bad of hostile) {
      assert.equal(isEntryName(`Vol_1${bad}`), false, JSON.stringify(bad));
      assert.equal(isArchivePath(`Vol_1/${bad}`), false, JSON.stringify(bad));
      assert.equal(isArchivePath(`.skiff-put-${bad}`), false, JSON.stringify(bad));
    }
  });

  it('still refuses empty, dot, absolute and NUL paths', () => {
    for (const bad of ['', '/etc', 'a//b', 'a/./b', '../x', 'a\0b']) assert.equal(isArchivePath(bad), false, JSON.stringify(bad));
    for (const bad of ['', '.', '..', 'a/b', 'a\0b']) assert.equal(isEntryName(bad), false, JSON.stringify(bad));
  });
});
