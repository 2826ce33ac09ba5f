import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../errors.js';
import { peekOption, splitCommand } from './argv.js';
import { configArguments } from './config-file.js';
import { destIdentity, parseDestUrl } from './dest-url.js';
import { formatUpdatedAt, pythonJson, pythonRepr } from './format.js';

describe('argv: the command may follow options', () => {
  it('finds the command past options and their values', () => {
    assert.deepEqual(splitCommand(['--dest', 'file:/a', '-u', 'list', 'v', '--verbose']), {
      command: 'list',
      rest: ['--dest', 'file:/a', '-u', 'v', '--verbose'],
    });
    assert.deepEqual(splitCommand(['--dest=file:/a', '--verbose', 'verify', '-a']).command, 'verify');
    assert.deepEqual(splitCommand(['--tag', 'list', 'list']).command, 'list', '--tag takes the first "list" as its value');
    assert.deepEqual(splitCommand(['--json']), { command: null, rest: ['--json'] });
  });
  it('peeks at an option value in either form', () => {
    assert.equal(peekOption(['list', '--config', '/x'], 'config'), '/x');
    assert.equal(peekOption(['--config=/y', 'list'], 'config'), '/y');
    assert.equal(peekOption(['list'], 'config'), undefined);
    assert.throws(() => peekOption(['--config'], 'config'), InputError);
  });
});

describe('config file items', () => {
  const all = new Set(['dest', 'verbose', 'volex', 'unattended', 'all', 'authmin', 'json']);
  it('turns items into leading arguments, by option kind', () => {
    const items = new Map([
      ['dest', 'file:/b'],
      ['verbose', '2'],
      ['volex', 'a.img\nb.img'],
      ['json', '0'],
    ]);
    assert.deepEqual(configArguments(items, all, all), {
      args: ['--dest=file:/b', '--verbose', '--verbose', '--volex=a.img', '--volex=b.img'],
      notes: [],
      unused: [],
    });
  });
  it('ignores what Wyng ignores, leaves out items the command does not take, notes unsupported ones', () => {
    const result = configArguments(
      new Map([
        ['all', '1'],
        ['json', '1'],
        ['autoprune', 'on'],
      ]),
      new Set(['dest']),
      all,
    );
    assert.deepEqual(result.args, []);
    assert.deepEqual(result.notes, ['Ignoring config item: all', 'Ignoring config item: autoprune (not supported by Skiff yet)']);
    assert.deepEqual(result.unused, ['json']);
  });
  it('refuses unknown items and non-numeric flags', () => {
    assert.throws(() => configArguments(new Map([['nonsense', '1']]), all, all), /Unknown item in config: nonsense/);
    assert.throws(() => configArguments(new Map([['json', 'yes']]), all, all), /must be a number/);
  });
});

describe('--dest URLs', () => {
  it('parses the four forms', () => {
    assert.deepEqual(parseDestUrl('file:/tmp/a', '/'), { text: 'file:/tmp/a', scheme: 'file', authority: '', path: '/tmp/a' });
    assert.equal(parseDestUrl('file:///tmp/a/', '/').path, '/tmp/a');
    assert.equal(parseDestUrl('file:rel/a', '/home/u').path, '/home/u/rel/a');
    assert.deepEqual(parseDestUrl('ssh://me@host:2222/srv/../arch', '/'), {
      text: 'ssh://me@host:2222/srv/../arch',
      scheme: 'ssh',
      authority: 'me@host:2222',
      path: '/arch',
    });
    assert.equal(parseDestUrl('qubes://backupvm', '/').path, '.');
    assert.equal(parseDestUrl('qubes-ssh://vm:me@host/p', '/').authority, 'vm:me@host');
  });
  it('refuses malformed ones with Wyng messages', () => {
    for (const [url, message] of [
      [undefined, /Missing dest/],
      ['', /Missing dest/],
      ['/tmp/a', /Malformed/],
      ['http://x/y', /'http' not an accepted dest type/],
      ['file:', /Malformed/],
      ['file://host/p', /Malformed/],
      ['ssh:/p', /Malformed/],
      ['qubes-ssh://vm/p', /Malformed/],
      ['qubes-ssh://vm:/p', /Malformed/],
      ['file:/a\nb', /control/],
    ] as const) {
      assert.throws(() => parseDestUrl(url, '/'), message, String(url));
    }
  });
});

describe('formatting like Python', () => {
  it('formats updated_at in local time with microseconds and offset', () => {
    process.env['TZ'] = 'UTC';
    assert.equal(formatUpdatedAt('1795880314.3700378'), '2026-11-28 15:38:34.370038 (+00:00)');
    assert.equal(formatUpdatedAt('1795880314'), '2026-11-28 15:38:34 (+00:00)');
    assert.equal(formatUpdatedAt('1795880314.9999996'), '2026-11-28 15:38:35 (+00:00)');
  });
  it('writes JSON with Python separators, ASCII escapes and exact big integers', () => {
    assert.equal(
      pythonJson(
        new Map<string, unknown>([
          ['a', [1, 'é']],
          ['2', { b: null }],
          ['ts', 1795880258988387895n],
        ]),
      ),
      '{"a": [1, "\\u00e9"], "2": {"b": null}, "ts": 1795880258988387895}',
    );
  });
  it('writes str repr like Python', () => {
    assert.equal(pythonRepr('plain'), "'plain'");
    assert.equal(pythonRepr("it's"), '"it\'s"');
    assert.equal(pythonRepr('both \' and "'), "'both \\' and \"'");
    assert.equal(pythonRepr('tab\there'), "'tab\\there'");
  });
});

describe('destination identity', () => {
  it('gives every spelling of one place the same identity', () => {
    const id = (text: string, cwd = '/') => destIdentity(parseDestUrl(text, cwd));
    for (const text of ['file:/x', 'file:/x/', 'file:///x', 'file:/./x', 'file:/y/../x', 'FILE:/x'])
      assert.equal(id(text), 'file:/x', text);
    assert.equal(id('file:x', '/'), 'file:/x');
    assert.notEqual(id('file:/x'), id('file:/y'));
    assert.equal(id('ssh://u@h:22/a/./b/'), 'ssh://u@h:22/a/b');
    assert.equal(id('SSH://u@h:22//a/b'), 'ssh://u@h:22/a/b');
    assert.notEqual(id('ssh://u@h/a'), id('qubes://u@h/a'));
  });
});
