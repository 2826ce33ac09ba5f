// Bad input gets one clear line on stderr and the documented exit code (doc/cli.md), never a
// stack trace.

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type CliResult, errorLines, runSkiff, scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { fixtureArchive } from '../helpers/paths.js';

const scratch = scratchDir();
after(scratch.cleanup);
const plain = `--dest=file:${fixtureArchive('plain-zlib-64k')}`;
const encrypted = `--dest=file:${fixtureArchive('enc-dgr-zstd-256k')}`;

interface Case {
  args: string[];
  input?: string;
  code: number;
  message: RegExp;
}

const cases: [string, Case][] = [
  ['no command', { args: [], code: 9, message: /^No command given; see 'skiff --help'/ }],
  ['unknown command', { args: ['frobnicate'], code: 9, message: /^Unknown command 'frobnicate'; see 'skiff --help' for the commands\.$/ }],
  ['diff without volumes', { args: ['diff', plain], code: 9, message: /^Volume name\(s\) or --all required for diff\.$/ }],
  [
    'unknown option',
    { args: ['list', plain, '--frob'], code: 9, message: /^Unknown option '--frob' for list; see 'skiff list --help'\.$/ },
  ],
  [
    'an option of another command that Wyng does not have',
    { args: ['list', plain, '--all-chunks'], code: 9, message: /^Unknown option '--all-chunks' for list; see 'skiff list --help'\.$/ },
  ],
  [
    '--save-to for another command than receive',
    { args: ['list', plain, '--save-to=/tmp/x'], code: 9, message: /^Receive required for save-to option\.$/ },
  ],
  [
    'unknown short option',
    { args: ['verify', plain, '-ax'], code: 9, message: /^Unknown option '-x' for verify; see 'skiff verify --help'\.$/ },
  ],
  ['option without its value', { args: ['list', '--dest'], code: 9, message: /^Option --dest needs a value: --dest=URL\.$/ }],
  ['missing --dest', { args: ['list'], code: 9, message: /^Missing dest specification\.$/ }],
  ['unknown URL scheme', { args: ['list', '--dest=foo:/x'], code: 9, message: /^'foo' not an accepted dest type\.$/ }],
  ['file: without a path', { args: ['list', '--dest=file:'], code: 9, message: /^Malformed --dest specification\.$/ }],
  ['file: with a host', { args: ['list', '--dest=file://host/x'], code: 9, message: /^Malformed --dest specification\.$/ }],
  ['ssh: without a host', { args: ['list', '--dest=ssh:/path'], code: 9, message: /^Malformed --dest specification\.$/ }],
  [
    'qubes-ssh without user@host',
    { args: ['list', '--dest=qubes-ssh://vmonly/p'], code: 9, message: /^Malformed --dest specification\.$/ },
  ],
  [
    'control character in the URL',
    { args: ['list', '--dest=file:/tmp/a\tb'], code: 9, message: /^\[\^control\] char not allowed in dest\.$/ },
  ],
  [
    'a qubes-ssh URL without vm:host',
    { args: ['list', '--dest=qubes-ssh://vm/p'], code: 9, message: /^Malformed --dest specification\.$/ },
  ],
  [
    'an ssh host that cannot be reached',
    {
      args: ['list', '--dest=ssh://u@nonexistent.invalid/p', '--opt-ssh=-oBatchMode=yes', '--opt-ssh=-oConnectTimeout=5'],
      code: 5,
      message:
        /^Destination not ready to receive commands: the destination helper exited \(exit code 255\); it said: .*nonexistent\.invalid/,
    },
  ],
  [
    'a path that does not exist',
    { args: ['list', '--dest=file:/nonexistent/dir'], code: 6, message: /^Path '\/nonexistent\/dir' not found\.$/ },
  ],
  ['a directory without an archive', { args: ['list', '--dest=file:/'], code: 6, message: /^Archive not found at 'file:\/'$/ }],
  // A volume the archive lacks is skipped by verify, as in Wyng (test/cli/parity.test.ts).
  ['verify without volumes', { args: ['verify', plain], code: 9, message: /^Volume name\(s\) or --all required for verify\.$/ }],
  [
    'malformed --session',
    { args: ['verify', plain, 'vol2.img', '--session=yesterday'], code: 9, message: /^Malformed --session 'yesterday'/ },
  ],
  [
    'impossible --session date',
    { args: ['verify', plain, 'vol2.img', '--session=20261301-000000'], code: 9, message: /^Malformed --session/ },
  ],
  [
    'two sessions for verify',
    {
      args: ['verify', plain, 'vol2.img', '--session=20261128-153734,20261128-153740'],
      code: 9,
      message: /^Specify only one session for verify\.$/,
    },
  ],
  [
    'bad --session-strict',
    { args: ['verify', plain, 'vol2.img', '--session-strict=maybe'], code: 9, message: /^--session-strict must be 'on' or 'off'/ },
  ],
  [
    'a session the volume lacks',
    {
      args: ['verify', plain, 'vol2.img', '--session=20261128-153736'],
      code: 2,
      message: /^No volume 'vol2\.img' in session S_20261128-153736\.$/,
    },
  ],
  [
    'an unknown tag',
    { args: ['verify', plain, 'vol2.img', '--session=^nosuchtag'], code: 2, message: /^No volume 'vol2\.img' in session \^nosuchtag\.$/ },
  ],
  ['receive without --save-to', { args: ['receive', plain, 'vol2.img'], code: 9, message: /^receive needs --save-to=PATH/ }],
  [
    'receive of two volumes',
    {
      args: ['receive', plain, 'vol2.img', 'dup.img', '--save-to=/tmp/x'],
      code: 9,
      message: /^Specify one volume for receive --save-to\.$/,
    },
  ],
  ['arch-check with a tag', { args: ['arch-check', plain, '--session=^base'], code: 9, message: /^arch-check --session takes 'newest'/ }],
  ['empty passphrase', { args: ['list', encrypted], input: '\n', code: 3, message: /^No authentication input\.$/ }],
  ['no passphrase at all', { args: ['list', encrypted], input: '', code: 3, message: /^No authentication input\.$/ }],
  [
    'wrong passphrase',
    { args: ['list', encrypted], input: 'not-the-passphrase\n', code: 3, message: /^Could not decrypt\/authenticate archive/ },
  ],
  [
    'short --passcmd output',
    { args: ['list', encrypted, '--passcmd=echo short'], code: 9, message: /^Passphrase must be 10 or more characters\.$/ },
  ],
  ['failing --passcmd', { args: ['list', encrypted, '--passcmd=exit 4'], code: 3, message: /^Error code 4 running passcmd: exit 4$/ }],
];

/**
 * A run that reads stdin or runs --passcmd is a subprocess (a passphrase is read from the
 * process's own fd 0); the rest stop at parsing or at an unencrypted archive: in-process.
 */
function run(c: Case): Promise<CliResult> {
  const needsProcess = c.input !== undefined || c.args.some((arg) => arg.startsWith('--passcmd'));
  return needsProcess ? runSkiff(c.args, { input: c.input ?? '' }) : runSkiffInProcess(c.args);
}

describe('bad input', () => {
  for (const [name, c] of cases) {
    it(`${name} → exit ${c.code}`, async () => {
      const r = await run(c);
      assert.equal(r.code, c.code, `stderr: ${r.stderr}`);
      const lines = errorLines(r).filter((line) => !line.startsWith('Error on volumes:'));
      assert.equal(lines.length, 1, `one line expected, got: ${JSON.stringify(lines)}`);
      assert.match(lines[0] as string, c.message);
    });
  }

  it('--save-to naming a directory', async () => {
    const dir = join(scratch.dir, 'a-directory');
    mkdirSync(dir);
    const r = await runSkiffInProcess(['receive', plain, 'vol2.img', `--save-to=${dir}`]);
    assert.equal(r.code, 9);
    assert.deepEqual(errorLines(r), [`--save-to '${dir}' is not a regular file or block device.`]);
  });

  it('an unknown config-file item', async () => {
    const config = join(scratch.dir, 'bad.ini');
    writeFileSync(config, '[var-global-default]\nnonsense = 1\n');
    const r = await runSkiffInProcess(['list', plain, `--config=${config}`]);
    assert.equal(r.code, 9);
    assert.deepEqual(errorLines(r), ['Unknown item in config: nonsense']);
  });

  it('a config-file flag that is not a number', async () => {
    const config = join(scratch.dir, 'bad2.ini');
    writeFileSync(config, '[var-global-default]\nunattended = yes\nquiet = yes\n');
    const r = await runSkiffInProcess(['list', plain, `--config=${config}`]);
    assert.equal(r.code, 9);
    assert.match(errorLines(r).at(-1) as string, /^Config item quiet must be a number/);
  });
});

describe('errors in the command line or config file come alone, without the version line', () => {
  const config = join(scratch.dir, 'bad.ini');
  writeFileSync(config, 'this is not an ini line\n');
  const usage: [string, string[]][] = [
    ['unknown option', ['list', plain, '--frob']],
    ['missing --dest', ['list']],
    ['unknown URL scheme', ['verify', '-a', '--dest=foo:/x']],
    ['malformed --dest', ['send', '-a', '--dest=ssh:/path']],
    ['missing --dest for delete --clean', ['delete', '--clean', '--local=/tmp']],
    ['bad config file', ['list', plain, `--config=${config}`]],
  ];
  for (const [name, args] of usage) {
    it(name, async () => {
      const r = await runSkiffInProcess(args);
      assert.equal(r.code, 9, r.stderr);
      assert.equal(r.stdout, '');
    });
  }
});
