// Help screens and parse errors, for every command: what a new user meets first. The commands
// and their options come from clipanion's own definitions (not from the help renderer), so an
// option added to a command without help text, or a command without an example, fails here.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cli } from 'clipanion';
import { checkArguments } from '../../source-agent/cli/argv.js';
import { wrap } from '../../source-agent/cli/help.js';
import { PLACEHOLDERS } from '../../source-agent/cli/options.js';
import { COMMANDS } from '../../source-agent/cli/run.js';
import { closestName, editDistance } from '../../source-agent/cli/suggest.js';
import { RELEASE_LINE } from '../../source-agent/version.js';
import type { CliResult } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';

interface OptionFacts {
  long: string;
  takesValue: boolean;
}

/** Each command's options, as clipanion registers them. */
function commandOptions(): Map<string, OptionFacts[]> {
  const result = new Map<string, OptionFacts[]>();
  for (const command of COMMANDS) {
    const cli = new Cli();
    cli.register(command);
    const [definition] = cli.definitions();
    const name = command.paths?.[0]?.[0] as string;
    const options = (definition?.options ?? []).map((option) => ({
      long: (option.definition.match(/--[a-z][a-z-]*/) as RegExpMatchArray)[0],
      takesValue: option.definition.includes('#0'),
    }));
    result.set(name, options);
  }
  return result;
}

const OPTIONS = commandOptions();
const NAMES = [...OPTIONS.keys()];
/** The options every command takes: listed once, in the general help. */
const GLOBAL = (OPTIONS.get('version') as OptionFacts[]).filter((o) => NAMES.every((n) => OPTIONS.get(n)?.some((p) => p.long === o.long)));
// The helper adds --meta-dir and --authmin unless given; given first, a test's last argument stays last.
const HERMETIC = ['--meta-dir=/nonexistent/skiff-help-test', '--authmin=0'];

// Parsing and help need no process of their own: in-process runs (exit codes are runCli's, which
// main.ts only hands on; process-level exit codes are tested in grammar.test.ts and others).
function skiff(args: readonly string[]): Promise<CliResult> {
  return runSkiffInProcess([...HERMETIC, ...args]);
}

function count(text: string, pattern: RegExp): number {
  return [...text.matchAll(new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`))].length;
}

/** The lines of a help section, from its title to the next blank line. */
function section(text: string, title: RegExp): string {
  const match = text.match(new RegExp(`^${title.source}\\n((?:.+\\n)*)`, 'm'));
  assert.ok(match, `no section ${title.source} in ${text}`);
  return match[1] as string;
}

/** A usage error: exit 9, nothing on stdout, one line on stderr. */
function assertUsageError(r: CliResult, pattern: RegExp, what: string): void {
  assert.equal(r.code, 9, `${what}: exit code (stderr: ${r.stderr})`);
  assert.equal(r.stdout, '', `${what}: stdout`);
  assert.match(r.stderr, /^[^\n]+\n$/, `${what}: one line on stderr`);
  assert.match(r.stderr, pattern, what);
  assert.doesNotMatch(r.stderr, /Command not found|#0/, what);
}

/** Help text: the release line once, no clipanion placeholders, no line over 80 columns but commands. */
function assertHelpShape(r: CliResult, what: string): void {
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  assert.equal(r.stderr, '', what);
  assert.ok(r.stdout.startsWith(`${RELEASE_LINE}\n\n`), `${what}: starts with the release line`);
  assert.equal(count(r.stdout, /^Skiff /m), 1, `${what}: one header`);
  assert.equal(count(r.stdout, /^Usage:$/m), 1, `${what}: one usage section`);
  assert.doesNotMatch(r.stdout, /#\d/, `${what}: clipanion's placeholders`);
  for (const line of r.stdout.split('\n')) {
    if (/^ {2}skiff /.test(line)) continue; // an example command stays whole, for copying
    assert.ok(line.length <= 80, `${what}: line longer than 80 columns: ${JSON.stringify(line)}`);
    assert.ok(!/ $/.test(line), `${what}: trailing space: ${JSON.stringify(line)}`);
  }
}

/** The option as the help shows it: `--dest=URL` or `--all` (a flag). */
function shown(option: OptionFacts): RegExp {
  return option.takesValue
    ? new RegExp(`(?<![\\w-])${option.long}=[A-Za-z:|,[\\].]+(?![\\w-])`)
    : new RegExp(`(?<![\\w-])${option.long}(?![\\w=-])`);
}

/** The option as a row of an option table: at the start of a line, after its short form if any. */
function listed(option: OptionFacts): RegExp {
  return new RegExp(`^ {2}(?:-[a-zA-Z], | {4})${shown(option).source}`, 'm');
}

for (const command of NAMES) {
  const own = (OPTIONS.get(command) as OptionFacts[]).filter((o) => !GLOBAL.some((g) => g.long === o.long));
  describe(`skiff ${command}: help and parse errors`, () => {
    it('--help: one header, its usage, each of its options once with a placeholder, the globals referenced, an example', async () => {
      const r = await skiff([command, '--help']);
      assertHelpShape(r, `${command} --help`);
      assert.match(r.stdout, new RegExp(`^Usage:\\n {2}skiff ${command}( |$)`, 'm'));
      const options = own.length > 0 ? section(r.stdout, /Options:/) : '';
      for (const option of own) assert.equal(count(options, listed(option)), 1, `${command} --help shows ${option.long} once: ${r.stdout}`);
      const globals = section(r.stdout, /Global options.*:/);
      for (const option of GLOBAL) {
        assert.equal(count(globals, shown(option)), 1, `${command} --help names the global ${option.long}`);
        assert.equal(count(options, listed(option)), 0, `${command} --help: the global ${option.long} is only named`);
      }
      assert.match(r.stdout, new RegExp(`^Examples?:\\n(.*\\n)*? {2}skiff (.* )?${command}( |$)`, 'm'), `${command} --help has an example`);
    });

    it('-h, --help before the command and `help COMMAND` print the same help', async () => {
      const expected = (await skiff([command, '--help'])).stdout;
      for (const args of [
        [command, '-h'],
        ['--help', command],
        ['help', command],
      ]) {
        const r = await skiff(args);
        assert.equal(r.code, 0, args.join(' '));
        assert.equal(r.stdout, expected, args.join(' '));
      }
    });

    it('an unknown option: one line naming it, exit 9', async () => {
      assertUsageError(await skiff([command, '--bogus']), /--bogus/, `${command} --bogus`);
      assertUsageError(await skiff([command, '-Z']), /-Z/, `${command} -Z`);
    });

    it('a valued option without its value: one line naming the option, exit 9', async () => {
      const option = own.find((o) => o.takesValue) ?? { long: '--dest', takesValue: true };
      const needsValue = new RegExp(`${option.long}\\b.*needs a value`);
      assertUsageError(await skiff([command, option.long]), needsValue, `${command} ${option.long} (last)`);
      assertUsageError(await skiff(['--dest=file:/x', command, option.long]), needsValue, `--dest=file:/x ${command} ${option.long}`);
      assertUsageError(await skiff([command, option.long, '--verbose']), needsValue, `${command} ${option.long} --verbose`);
    });

    if (own.some((o) => !o.takesValue) || command === 'version') {
      it('a flag given a value: one line naming the option, exit 9', async () => {
        const flag = own.find((o) => !o.takesValue)?.long ?? '--quiet';
        assertUsageError(await skiff([command, `${flag}=yes`]), new RegExp(`${flag}\\b.*takes no value`), `${command} ${flag}=yes`);
      });
    }
  });
}

describe('skiff: help, version and mistyped commands', () => {
  it('every value option has a placeholder of its own', () => {
    for (const [command, options] of OPTIONS) {
      for (const option of options.filter((o) => o.takesValue)) assert.ok(PLACEHOLDERS[option.long.slice(2)], `${command} ${option.long}`);
    }
  });

  it('--help and help: one header, every command with its summary, each global option once with a placeholder', async () => {
    const r = await skiff(['--help']);
    assertHelpShape(r, '--help');
    for (const command of NAMES) assert.match(r.stdout, new RegExp(`^ {2}${command} {2,}\\S`, 'm'), `--help lists ${command}`);
    const globals = section(r.stdout, /Global options.*:/);
    for (const option of GLOBAL) assert.equal(count(globals, listed(option)), 1, `--help lists ${option.long} once`);
    assert.equal((await skiff(['help'])).stdout, r.stdout, 'help');
    assert.equal((await skiff(['-h'])).stdout, r.stdout, '-h');
  });

  it('--version prints the release line', async () => {
    const r = await skiff(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${RELEASE_LINE}\n`);
  });

  it('a mistyped command gets a suggestion; an unknown one a pointer to the help', async () => {
    assertUsageError(await skiff(['sned', 'vol']), /^Unknown command 'sned'; did you mean 'send'\?\n$/, 'sned');
    assertUsageError(await skiff(['--dest=file:/x', 'lsit']), /^Unknown command 'lsit'; did you mean 'list'\?\n$/, 'lsit');
    assertUsageError(await skiff(['arch-chek']), /did you mean 'arch-check'\?/, 'arch-chek');
    assertUsageError(await skiff(['help', 'sned']), /^Unknown command 'sned'; did you mean 'send'\?\n$/, 'help sned');
    assertUsageError(await skiff(['frobnicate']), /^Unknown command 'frobnicate'.*skiff --help/, 'frobnicate');
    assertUsageError(await skiff([]), /No command given.*skiff --help/, 'no command');
  });

  it('a mistyped option gets a suggestion', async () => {
    assertUsageError(await skiff(['list', '--dets=file:/x']), /^Unknown option '--dets' for list; did you mean '--dest'\?\n$/, '--dets');
  });

  it('the issue 12 case: a valued option without its value after another valued option', async () => {
    assertUsageError(await skiff(['--dest=file:/x', 'list', '--tag']), /^Option --tag needs a value/, '--dest=file:/x list --tag');
  });

  it('--opt VALUE takes a negative number as its value (--authmin -1)', async () => {
    const r = await skiff(['list', '--authmin', '-1', '--dest=file:/nonexistent/skiff-help-test']);
    assert.equal(r.code, 6, r.stderr);
  });

  it('wraps at word boundaries: no paragraph of the details is broken in the middle', async () => {
    const r = await skiff(['send', '--help']);
    const flat = r.stdout.replace(/\s+/g, ' ');
    assert.match(flat, /snapshot <lv>\.skiff1 in the VG\) and reads only the chunks that changed/);
    assert.doesNotMatch(r.stdout, /next to\n\n/);
  });
});

describe('help and argument parts', () => {
  it('edit distance counts a swap of neighbours as one edit', () => {
    assert.equal(editDistance('sned', 'send'), 1);
    assert.equal(editDistance('verfy', 'verify'), 1);
    assert.equal(editDistance('', 'add'), 3);
    assert.equal(closestName('recieve', ['receive', 'rename']), 'receive');
    assert.equal(closestName('xyz', ['add', 'list']), undefined);
  });

  it('wraps at word boundaries within the width, keeping every word', () => {
    const text = 'Volumes are files under --local (a Btrfs subvolume) and a-very-long-word-that-does-not-fit-anywhere-at-all here.';
    const lines = wrap(text, 20, '  ');
    assert.deepEqual(lines.join(' ').replace(/\s+/g, ' ').trim(), text);
    for (const line of lines) assert.ok(line.length <= 20 || !line.trim().includes(' '), line);
    assert.deepEqual(wrap('a b c', 3), ['a b', 'c']);
  });

  it('joins --opt value into --opt=value; a negative number is a value, an option is not', () => {
    const accepted = [
      { long: 'authmin', short: null, takesValue: true },
      { long: 'all', short: 'a', takesValue: false },
    ];
    assert.deepEqual(checkArguments('list', ['--authmin', '-1', '-a', 'v', '--', '--x'], accepted), [
      '--authmin=-1',
      '-a',
      'v',
      '--',
      '--x',
    ]);
    assert.throws(() => checkArguments('list', ['--authmin', '-a'], accepted), /Option --authmin needs a value/);
    assert.throws(() => checkArguments('list', ['--al'], accepted), /did you mean '--all'\?/);
  });
});
