import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIni, IniSyntaxError, parseIni } from './ini-text.js';

describe('configparser-compatible ini', () => {
  it('reads sections, both delimiters, stripped keys and values, case kept', () => {
    const ini = parseIni('[var]\nupdated_at = 1795880231.5212743\nKey:value : with colon\n x = 1\n\n[volumes]\n\n[in_process]\n\n');
    assert.deepEqual(
      [...(ini.get('var') ?? [])],
      [
        ['updated_at', '1795880231.5212743'],
        ['Key', 'value : with colon\nx = 1'],
      ],
    );
    assert.equal(ini.get('volumes')?.size, 0);
    assert.equal(ini.get('in_process')?.size, 0);
  });
  it('treats only whole lines starting with # or ; as comments (no inline comments)', () => {
    const ini = parseIni('# comment\n[s]\n; another\na = abc#def ;x\n');
    assert.equal(ini.get('s')?.get('a'), 'abc#def ;x');
  });
  it('joins indented continuation lines, as wyng.ini lists use', () => {
    const ini = parseIni('[var-global-default]\nvolex = a.img\n   b.img\n   c.img\nlocal = /x\n');
    assert.equal(ini.get('var-global-default')?.get('volex'), 'a.img\nb.img\nc.img');
  });
  it('does not nest dotted sections or convert booleans', () => {
    const ini = parseIni('[a.b]\nflag = true\n');
    assert.equal(ini.get('a.b')?.get('flag'), 'true');
  });
  it('rejects duplicates, keys without values and text before a section', () => {
    assert.throws(() => parseIni('[a]\nx = 1\nx = 2\n'), IniSyntaxError);
    assert.throws(() => parseIni('[a]\n[a]\n'), IniSyntaxError);
    assert.throws(() => parseIni('[a]\njustakey\n'), IniSyntaxError);
    assert.throws(() => parseIni('x = 1\n[a]\n'), IniSyntaxError);
  });
  it('writes the way configparser does', () => {
    const text = formatIni([
      ['var', [['a', '1']]],
      ['volumes', []],
    ]);
    assert.equal(text, '[var]\na = 1\n\n[volumes]\n\n');
    assert.throws(() => formatIni([['s', [['k', 'two\nlines']]]]));
  });
});
