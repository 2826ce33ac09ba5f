import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasTerminalControls } from '../../protocol/inert-text.js';
import { InputError } from '../errors.js';
import { peekOption, splitCommand } from './argv.js';
import { configArguments } from './config-file.js';
import { ConsoleOutput } from './console-output.js';
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
  it('escapes in str repr what Python finds unprintable: C0, C1, bidi, NBSP, lone surrogates', () => {
    // Python 3: repr('\x1b[2J\x9b\u202e\xa0é😀\ud800') (a tag description on a terminal).
    assert.equal(pythonRepr('\x1b[2J\u009b\u202e\u00a0é😀\ud800'), "'\\x1b[2J\\x9b\\u202e\\xa0é😀\\ud800'");
  });
});

describe('console output: the last line of defence', () => {
  const capture = (interactive: boolean) => {
    const written = { stdout: '', stderr: '' };
    const sink = (key: 'stdout' | 'stderr') =>
      ({
        write: (text: string) => {
          written[key] += text;
          return true;
        },
      }) as unknown as NodeJS.WritableStream;
    const out = new ConsoleOutput({ stdout: sink('stdout'), stderr: sink('stderr'), interactive, verbose: false, quiet: false });
    return { out, written };
  };
  // Line breaks are ours to keep here; a destination's are escaped where its text enters.
  it('prints no terminal control that reached it, only our line breaks', () => {
    const { out, written } = capture(false);
    out.line('name \x1b]0;owned\x07 \u009b31m\rVerification OK');
    out.write('a\x1b[2Jb\n');
    out.warn('Error: \u202ecba\r\nVerification OK');
    assert.equal(written.stdout, 'name \\x1b]0;owned\\x07 \\u009b31m\\rVerification OK\na\\x1b[2Jb\n');
    assert.equal(written.stderr, 'Error: \\u202ecba\\r\nVerification OK\n');
  });
  it("lets through only the progress row's own clearing sequence; the row's text is escaped", () => {
    const { out, written } = capture(true);
    const progress = out.progress({ label: 'vol\x1b]0;owned\x07', total: 2, totalBytes: 2 });
    progress.update(1);
    progress.end(': OK ');
    const withoutClears = written.stdout.split('\r\x1b[K').join('');
    assert.ok(written.stdout.includes('\r\x1b[K'), JSON.stringify(written.stdout));
    assert.ok(!hasTerminalControls(withoutClears.replaceAll('\n', '')), JSON.stringify(written.stdout));
    assert.ok(written.stdout.includes('| vol\\x1b]0;owned\\x07'), `the row shows the escaped label: ${JSON.stringify(written.stdout)}`);
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
