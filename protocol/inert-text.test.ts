import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasTerminalControls, inert } from './inert-text.js';

const hex = (code: number, digits: number) => code.toString(16).padStart(digits, '0');

describe('inert: text from the other side, safe to print', () => {
  it('renders every C0 control and DEL as \\xNN (\\n, \\r, \\t as themselves escaped)', () => {
    const named: Record<number, string> = { 9: '\\t', 10: '\\n', 13: '\\r' };
    for (let code = 0; code < 0x20; code++) {
      const expected = named[code] ?? `\\x${hex(code, 2)}`;
      assert.equal(inert(`a${String.fromCharCode(code)}b`), `a${expected}b`, `U+${hex(code, 4)}`);
      assert.equal(hasTerminalControls(String.fromCharCode(code)), true);
    }
    assert.equal(inert('\x7f'), '\\x7f');
    assert.equal(hasTerminalControls('\x7f'), true);
  });

  it('renders every C1 control (U+0080–U+009F, CSI U+009B among them) as \\u00NN', () => {
    for (let code = 0x80; code <= 0x9f; code++) {
      assert.equal(inert(String.fromCharCode(code)), `\\u${hex(code, 4)}`);
      assert.equal(hasTerminalControls(String.fromCharCode(code)), true);
    }
  });

  it('renders bidi overrides, isolates and marks, and lone surrogates as \\uNNNN', () => {
    const codes = [
      0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0xd800, 0xdbff, 0xdc00, 0xdfff,
    ];
    for (const code of codes) {
      assert.equal(inert(`x${String.fromCharCode(code)}y`), `x\\u${hex(code, 4)}y`);
      assert.equal(hasTerminalControls(String.fromCharCode(code)), true);
    }
    // A surrogate pair is one printable character; halves in the wrong order are two lone ones.
    assert.equal(inert('\udc00\ud800'), '\\udc00\\ud800');
  });

  it('leaves printable text alone: ASCII, Latin-1, other scripts, emoji, backslashes', () => {
    const printable = [
      ' !"#$%&\'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~',
      '\u00a0¡éÿ€',
      'Ωжש中文한국어',
      '😀👍🏽',
      'C:\\x1b is text',
      'Vol_8c7da2/S_20261128-153740',
    ];
    for (const text of printable) {
      assert.equal(inert(text), text);
      assert.equal(hasTerminalControls(text), false, text);
    }
    for (let code = 0x20; code < 0x7f; code++) assert.equal(inert(String.fromCharCode(code)), String.fromCharCode(code));
    for (let code = 0xa0; code < 0x2000; code++) {
      if (code === 0x061c) continue;
      assert.equal(inert(String.fromCharCode(code)), String.fromCharCode(code), `U+${hex(code, 4)}`);
    }
  });

  it('keeps the control characters the caller names, and nothing else', () => {
    assert.equal(inert('a\nb\rc\x1b', '\n'), 'a\nb\\rc\\x1b');
    assert.equal(inert('a\nb\rc\x1b', '\n\r'), 'a\nb\rc\\x1b');
  });

  it('is idempotent: what it returns contains nothing it would change', () => {
    let all = '';
    for (let code = 0; code < 0x3000; code++) all += String.fromCharCode(code);
    const once = inert(all);
    assert.equal(hasTerminalControls(once), false);
    assert.equal(inert(once), once);
  });

  it('an attack line stays one visible line', () => {
    const attack = '\x1b[2J\x1b]0;owned\x07\u009b31m\nVerification OK';
    assert.equal(inert(attack), '\\x1b[2J\\x1b]0;owned\\x07\\u009b31m\\nVerification OK');
  });
});
