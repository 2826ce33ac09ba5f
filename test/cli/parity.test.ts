// Wyng parity for scripts: every option of Wyng 0.8 (behavior spec §1.4), on every command,
// parsed as Skiff parses a command line. Wyng's argparse takes every option everywhere; Skiff
// must too, and either use it (the parsed command changes) or print exactly one line saying it
// has no effect and why. Never "Unknown option", never silence. The table below is the spec's
// "used by" column: where Wyng gives an option an effect, a Skiff note must give a real reason.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { VolumeId } from '../../source-agent/archive/names.js';
import type { SkiffContext } from '../../source-agent/cli/context.js';
import { parseCommandLine } from '../../source-agent/cli/run.js';
import { describeError, SkiffError } from '../../source-agent/errors.js';
import { LocalStore } from '../../source-agent/store/local-store.js';
import { scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { hashTree, openArchive, volumeNames, writeSources } from '../volumes/archive-fixture.js';

const COMMANDS = [
  'version',
  'arch-init',
  'list',
  'send',
  'receive',
  'verify',
  'diff',
  'prune',
  'delete',
  'rename',
  'add',
  'monitor',
  'arch-check',
  'arch-deduplicate',
] as const;
type Cmd = (typeof COMMANDS)[number];

const dir = mkdtempSync(join(tmpdir(), 'skiff-parity-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const emptyIni = join(dir, 'empty.ini');
writeFileSync(emptyIni, '[var-global-default]\n');

const ALL: readonly Cmd[] = COMMANDS;
const BUT_VERSION = COMMANDS.filter((c) => c !== 'version');
const WRITE: readonly Cmd[] = ['add', 'send', 'prune', 'delete', 'rename', 'arch-deduplicate', 'arch-init'];
const MOST: readonly Cmd[] = ['send', 'monitor', 'list', 'prune', 'receive', 'verify', 'diff', 'arch-check', 'delete'];
const WITH_ALL: readonly Cmd[] = ['send', 'monitor', 'list', 'prune', 'receive', 'verify', 'diff', 'arch-check'];

/** Every Wyng option as it is written on a command line, and the commands Wyng uses it on (§1.4). */
const WYNG: ReadonlyArray<readonly [string, readonly Cmd[]]> = [
  ['--dest=file:/nonexistent', BUT_VERSION],
  ['--local=/nonexistent', ['send', 'monitor', 'receive', 'diff', 'rename', 'delete', 'arch-check']],
  ['--unattended', ALL],
  ['-u', ALL],
  ['--authmin=7', BUT_VERSION],
  ['--all-before', ['prune']],
  ['--all', MOST],
  ['-a', MOST],
  ['--session=20260101-000000', ['receive', 'verify', 'list', 'prune', 'arch-check']],
  ['--session-strict=off', ['receive', 'verify']],
  ['--dedup', ['send']],
  ['-d', ['send']],
  ['--volume-desc=a description', ['add', 'send', 'rename']],
  ['--tag=t1', ['send', 'list']],
  ['--keep=20260101-000000', ['prune', 'send']],
  ['--volex=other', WITH_ALL],
  ['--autoprune=on', ['send', 'prune']],
  ['--apdays=0:62:1:2', ['send', 'prune']],
  ['--save-to=/nonexistent/v.img', ['receive']],
  ['--sparse', ['receive']],
  ['--sparse-write', ['receive']],
  ['--skip-corrupt-chunks', ['receive']],
  ['--use-snapshot', ['receive']],
  ['--use-snapshot-diff', ['receive']],
  ['--req-snapshot', ['receive']],
  ['--import-other-from=v:|:/dev/null', ['send']],
  ['--remap', ['send', 'diff']],
  ['--send-unchanged', ['send']],
  ['--vols-from=/nonexistent.json', ['send', 'monitor', 'receive', 'verify', 'diff']],
  ['--local-from=/nonexistent.json', ['send', 'monitor', 'receive', 'verify', 'diff']],
  ['--encrypt=off', ['arch-init']],
  ['--compression=zlib:4', ['arch-init']],
  ['--hashtype=hmac-sha256', ['arch-init']],
  ['--chunk-factor=2', ['arch-init']],
  ['--vid=Vol_123456', ['delete']],
  ['--passcmd=echo x', BUT_VERSION],
  [`--config=${emptyIni}`, ALL],
  [`--meta-dir=${dir}`, ALL],
  ['--meta-reduce=on:3000', ALL],
  ['--json', ['list']],
  ['--quick', ['diff']],
  ['--force', ['delete', 'arch-check', 'receive']],
  ['--force-retry', WRITE],
  ['--force-allow-rollback', ALL],
  ['--vouch=fs_online_factors', ['send', 'monitor']],
  ['--clean', ['delete', 'arch-check']],
  ['--purge=full', ['delete']],
  ['--maxsync', ALL],
  ['--upgrade-format', ['arch-check']],
  ['--tar-bypass', ['send']],
  ['--opt-ssh=-v', ALL],
  ['--opt-qubes=--pass-io', ALL],
  ['--change-uuid', ['arch-check']],
  ['--dry-run', ['send']],
  ['--purge-tmp', ALL],
  ['--debug', ALL],
  ['--quiet', ALL],
  ['--verbose', ALL],
];

/**
 * Where Wyng uses an option and Skiff does not (each with its no-effect line), or refuses it.
 * This is the list doc/cli.md gives; a change on either side must show here.
 */
const GAPS: Readonly<Record<string, readonly Cmd[]>> = {
  '--meta-reduce': ALL,
  '--maxsync': ALL,
  '--purge-tmp': ALL,
  '--tar-bypass': ['send'],
  '--upgrade-format': ['arch-check'],
  '--force-retry': ['arch-init'],
};

/** Refused outright, with the message (Wyng's own refusals, and what Skiff cannot do yet). */
function refusal(option: string, command: Cmd): RegExp | null {
  const name = option.replace(/=.*/, '');
  if (name === '--save-to' && command !== 'receive') return /^Receive required for save-to option\.$/;
  if (name === '--vols-from' || name === '--local-from') {
    if (!['send', 'monitor', 'receive', 'verify', 'diff'].includes(command))
      return new RegExp(`^vols-from cannot be used with ${command}$`);
  }
  return null;
}

function context(): SkiffContext {
  const stdin = new PassThrough();
  stdin.end();
  return {
    stdin,
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    // No config file of this machine's: the run must see only what the test gives it.
    env: { SKIFF_CONFIG_PATH: join(dir, 'none.ini'), SKIFF_WYNG_CONFIG_PATH: join(dir, 'none-wyng.ini'), TZ: 'UTC' },
    colorDepth: 1,
    cwd: dir,
    signal: new AbortController().signal,
    now: () => Date.now() / 1000,
  };
}

/** The operands each command needs to parse at all. */
function operands(command: Cmd): string[] {
  if (command === 'rename') return ['old', 'new'];
  if (command === 'version' || command === 'arch-init' || command === 'arch-deduplicate') return [];
  return ['v'];
}

/** The parsed command's option values, for comparison with a parse without the option. */
function values(instance: object): string {
  const fields = Object.entries(instance).filter(([key]) => !['context', 'cli', 'path'].includes(key));
  return JSON.stringify(fields);
}

type Outcome = { kind: 'works' } | { kind: 'note'; line: string } | { kind: 'refused'; message: string; exitCode: number };

function outcome(command: Cmd, option: string): Outcome {
  const base = parseCommandLine(command, operands(command), context());
  assert.deepEqual(base.notes, []);
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(command, [...operands(command), option], context());
  } catch (error) {
    assert.ok(error instanceof SkiffError, describeError(error));
    return { kind: 'refused', message: error.message, exitCode: error.exitCode };
  }
  if (parsed.notes.length === 0) {
    assert.notEqual(values(parsed.instance), values(base.instance), `${command} ${option}: accepted but changes nothing, and no note`);
    return { kind: 'works' };
  }
  assert.equal(parsed.notes.length, 1, `${command} ${option}: ${parsed.notes.join(' / ')}`);
  assert.equal(values(parsed.instance), values(base.instance), `${command} ${option}: a note, but the option was used`);
  return { kind: 'note', line: parsed.notes[0] ?? '' };
}

describe('every Wyng option on every command (behavior spec §1.4)', () => {
  for (const command of COMMANDS) {
    it(`${command}: uses each option, notes one line for it, or refuses it as Wyng does`, () => {
      const failures: string[] = [];
      for (const [option, usedBy] of WYNG) {
        const name = option.replace(/=.*/, '');
        const long = name === '-a' ? '--all' : name === '-d' ? '--dedup' : name === '-u' ? '--unattended' : name;
        const result = outcome(command, option);
        const refused = refusal(option, command);
        if (refused) {
          if (result.kind !== 'refused' || !refused.test(result.message) || result.exitCode !== 9)
            failures.push(`${option}: expected refusal ${refused}, got ${JSON.stringify(result)}`);
          continue;
        }
        if (result.kind === 'refused') {
          failures.push(`${option}: refused: ${result.message}`);
          continue;
        }
        const gap = GAPS[long]?.includes(command) ?? false;
        if (result.kind === 'note') {
          const expected = `${long} has no effect on ${command}: `;
          if (!result.line.startsWith(expected)) failures.push(`${option}: note '${result.line}' does not start '${expected}'`);
          if (usedBy.includes(command) && !gap) failures.push(`${option}: Wyng uses it on ${command}, Skiff only notes: ${result.line}`);
          if (gap && /Wyng ignores it there too/.test(result.line)) failures.push(`${option}: Wyng uses it on ${command}: ${result.line}`);
        } else if (gap) {
          failures.push(`${option}: listed as a gap on ${command} but it works: update GAPS and doc/cli.md`);
        }
      }
      assert.deepEqual(failures, []);
    });
  }

  it('notes an option once however often it is given, and keeps the options that work', () => {
    const parsed = parseCommandLine('list', ['v', '--keep=a', '--keep', 'b', '-ua', '--local', '/x'], context());
    assert.deepEqual(parsed.notes, [
      '--keep has no effect on list: Wyng ignores it there too.',
      '--local has no effect on list: Wyng ignores it there too.',
    ]);
    const list = parsed.instance as unknown as { all: boolean; unattended: boolean; volumes: string[] };
    assert.equal(list.all, true);
    assert.equal(list.unattended, true);
    assert.deepEqual(list.volumes, ['v']);
  });

  it('-d on a command without --dedup is noted, the other letters of the group still apply', () => {
    const parsed = parseCommandLine('verify', ['v', '-dau'], context());
    assert.deepEqual(parsed.notes, ['--dedup has no effect on verify: Wyng ignores it there too.']);
    const verify = parsed.instance as unknown as { all: boolean; unattended: boolean };
    assert.equal(verify.all, true);
    assert.equal(verify.unattended, true);
  });

  it('checks --meta-reduce as Wyng does, though it does nothing', () => {
    for (const bad of ['on', 'on:x', 'sometimes:3', 'on:3:4']) {
      assert.throws(() => parseCommandLine('list', [`--meta-reduce=${bad}`], context()), /^Error: Malformed --meta-reduce argument\.$/);
    }
    assert.deepEqual(parseCommandLine('list', ['--meta-reduce', 'extra:0'], context()).notes, [
      '--meta-reduce has no effect on list: Skiff keeps no decoded manifests in its metadata directory.',
    ]);
  });

  it('still refuses what is no Wyng option, and a flag given a value', () => {
    assert.throws(() => parseCommandLine('list', ['--dset'], context()), /Unknown option '--dset' for list; did you mean '--dest'/);
    assert.throws(() => parseCommandLine('list', ['--maxsync=1'], context()), /Option --maxsync takes no value/);
    assert.throws(() => parseCommandLine('list', ['--meta-reduce'], context()), /Option --meta-reduce needs a value/);
  });
});

describe('Wyng options in real runs (file: archive, no root)', () => {
  const scratch = scratchDir('skiff-parity-run-');
  after(scratch.cleanup);
  const archiveDir = join(scratch.dir, 'archive');
  const common = [`--dest=file:${archiveDir}`, `--meta-dir=${join(scratch.dir, 'meta')}`];
  const env = { SKIFF_CONFIG_PATH: join(scratch.dir, 'none.ini'), SKIFF_WYNG_CONFIG_PATH: join(scratch.dir, 'none-wyng.ini') };
  const skiff = (...args: string[]) => runSkiffInProcess([...args, ...common], { env });
  let sources: ReturnType<typeof writeSources>;

  before(async () => {
    sources = writeSources(scratch.dir, 65536);
    const init = await skiff('arch-init', '--encrypt=off', '--chunk-factor=1');
    assert.equal(init.code, 0, init.stderr);
  });

  it('send --volume-desc describes the volumes it adds, not those already there; --tar-bypass is noted once', async () => {
    const first = await skiff('send', `--import-other-from=a.img:|:${sources.a1}`, '--volume-desc=first', '--tar-bypass');
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stderr, '--tar-bypass has no effect on send: Skiff always writes chunk files through its destination helper.\n');
    const second = await skiff(
      'send',
      `--import-other-from=a.img:|:${sources.a2}`,
      `--import-other-from=b.img:|:${sources.b}`,
      '--volume-desc=second',
    );
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stderr, '');
    const archive = await openArchive(new LocalStore(archiveDir), null);
    const byName = await volumeNames(archive);
    assert.equal((await archive.readVolInfo(byName.get('a.img') as VolumeId)).desc, 'first');
    assert.equal((await archive.readVolInfo(byName.get('b.img') as VolumeId)).desc, 'second');
    const bad = await skiff('send', `--import-other-from=c.img:|:${sources.c}`, `--volume-desc=${'x'.repeat(101)}`);
    assert.equal(bad.code, 9);
    assert.equal(bad.stderr, '--volume-desc: a volume description is at most 100 UTF-8 bytes.\n');
    assert.equal((await volumeNames(await openArchive(new LocalStore(archiveDir), null))).has('c.img'), false);
  });

  it('list --local and prune --force run as without them, after their note', async () => {
    const list = await skiff('list', '--local=/nonexistent', 'a.img');
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stderr, '--local has no effect on list: Wyng ignores it there too.\n');
    assert.match(list.stdout, /Sessions of 'a\.img'|a\.img/);
    const prune = await skiff('prune', 'b.img', '--session=newest', '--force');
    assert.equal(
      prune.stderr.split('\n')[0],
      '--force has no effect on prune: prune asks only on a terminal without -u, and Wyng has no --force for it either.',
    );
  });

  it('list, verify and prune skip a volume the archive lacks, as Wyng does: one line, exit 0 (§1.2 step 14)', async () => {
    const before = hashTree(archiveDir);
    for (const args of [
      ['list', 'nosuch.img', 'a.img'],
      ['verify', 'nosuch.img', 'a.img'],
      ['prune', 'nosuch.img', '--session=20260101-000000'],
      ['diff', 'nosuch.img', `--local=${scratch.dir}`],
    ]) {
      const result = await skiff(...args);
      assert.equal(result.code, 0, `${args[0]}: ${result.stderr}`);
      assert.equal(
        result.stdout
          .split('\n')
          .filter((l) => l.includes('nosuch'))
          .join('\n'),
        "Volume 'nosuch.img' not found; Skipping.",
        args[0],
      );
    }
    assert.deepEqual(hashTree(archiveDir), before, 'prune of a missing volume changes nothing');
    const verify = await skiff('verify', 'nosuch.img', 'a.img');
    assert.match(verify.stdout, /a\.img/, 'the other volume is still verified');
    // delete and rename abort with exit 1, as Wyng's do.
    assert.equal((await skiff('delete', 'nosuch.img', '-u')).code, 1);
    assert.equal((await skiff('rename', 'nosuch.img', 'other.img')).code, 1);
  });

  it('receive skips a volume the archive lacks, as Wyng does: --local, --save-to, --vols-from (§1.2 step 14, §9.6)', async () => {
    const skipLine = (stdout: string) =>
      stdout
        .split('\n')
        .filter((l) => l.includes('nosuch'))
        .join('\n');
    const into = join(scratch.dir, 'receive-into');
    mkdirSync(into);
    const local = await skiff('receive', 'nosuch.img', 'b.img', `--local=${into}`, '--force');
    assert.equal(local.code, 0, local.stderr);
    assert.equal(skipLine(local.stdout), "Volume 'nosuch.img' not found; Skipping.");
    assert.ok(readFileSync(join(into, 'b.img')).equals(readFileSync(sources.b)), 'the other volume is received');
    assert.equal(existsSync(join(into, 'nosuch.img')), false);
    const alone = await skiff('receive', 'nosuch.img', `--local=${into}`, '--force');
    assert.equal(alone.code, 0, alone.stderr);
    assert.equal(skipLine(alone.stdout), "Volume 'nosuch.img' not found; Skipping.");

    // --save-to counts the volumes left after the skip (Wyng: one found name is received).
    const saved = join(scratch.dir, 'receive-saved.img');
    const one = await skiff('receive', 'b.img', 'nosuch.img', `--save-to=${saved}`);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(skipLine(one.stdout), "Volume 'nosuch.img' not found; Skipping.");
    assert.ok(readFileSync(saved).equals(readFileSync(sources.b)));
    const none = await skiff('receive', 'nosuch.img', `--save-to=${saved}-none`);
    assert.equal(none.code, 9, none.stderr);
    assert.equal(skipLine(none.stdout), "Volume 'nosuch.img' not found; Skipping.");
    assert.equal(none.stderr, 'Specify one volume for receive --save-to.\n');
    assert.equal(existsSync(`${saved}-none`), false);

    // A skipped name is no failure: no FILE.error (Wyng lists only failed volumes there).
    const sets = join(scratch.dir, 'receive-sets.json');
    writeFileSync(
      sets,
      JSON.stringify({
        [into]: [
          ['b.img', null],
          ['nosuch.img', null],
        ],
      }),
    );
    rmSync(join(into, 'b.img'));
    const fromSets = await skiff('receive', `--vols-from=${sets}`, '--force');
    assert.equal(fromSets.code, 0, fromSets.stderr);
    assert.equal(skipLine(fromSets.stdout), "Volume 'nosuch.img' not found; Skipping.");
    assert.ok(readFileSync(join(into, 'b.img')).equals(readFileSync(sources.b)));
    assert.equal(existsSync(`${sets}.error`), false);
  });

  it('arch-deduplicate takes volume names as Wyng does: an unknown one is skipped, the others noted (it works on the whole archive)', async () => {
    const result = await skiff('arch-deduplicate', 'nosuch.img', 'b.img');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /\nVolume 'nosuch\.img' not found; Skipping\.\n/);
    assert.equal(result.stderr, 'Volume names have no effect on arch-deduplicate: it works on the whole archive, as in Wyng.\n');
    const unknownOnly = await skiff('arch-deduplicate', 'nosuch.img');
    assert.equal(unknownOnly.code, 0, unknownOnly.stderr);
    assert.equal(unknownOnly.stderr, '');
  });

  it('arch-init takes volume names as Wyng does: the new archive has none, so each is skipped with its line', async () => {
    const dest = `--dest=file:${join(scratch.dir, 'archive-init-names')}`;
    const result = await runSkiffInProcess(
      ['arch-init', 'nope', 'b.img', dest, '--encrypt=off', `--meta-dir=${join(scratch.dir, 'meta')}`],
      {
        env,
      },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /\nLast updated [^\n]*\nVolume 'b\.img' not found; Skipping\.\nVolume 'nope' not found; Skipping\.\n$/);
    assert.ok(existsSync(join(scratch.dir, 'archive-init-names', 'archive.ini')));
  });

  it('reads /etc/wyng/wyng.ini when /etc/skiff/skiff.ini does not exist, and says which file with --verbose', async () => {
    const skiffIni = join(scratch.dir, 'skiff.ini');
    const wyngIni = join(scratch.dir, 'wyng.ini');
    writeFileSync(wyngIni, `[var-global-default]\ndest = file:${archiveDir}\nkeep = 20260101-000000\nmaxsync = 1\n`);
    const files = { SKIFF_CONFIG_PATH: skiffIni, SKIFF_WYNG_CONFIG_PATH: wyngIni };
    const run = (...args: string[]) => runSkiffInProcess([...args, `--meta-dir=${join(scratch.dir, 'meta')}`], { env: files });
    const quiet = await run('list');
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.match(quiet.stdout, /Volumes:\n a\.img\n/, 'the dest came from wyng.ini');
    assert.equal(
      quiet.stderr,
      'Ignoring config item: maxsync (no effect in Skiff: Skiff already syncs every file it writes before the archive refers to it)\n',
    );
    const verbose = await run('list', '--verbose');
    assert.equal(verbose.code, 0, verbose.stderr);
    assert.deepEqual(verbose.stderr.split('\n').slice(1, 3), [
      `Config file: ${wyngIni} (${skiffIni} does not exist)`,
      'Config item not used by list: keep',
    ]);
    // Skiff's own file, once it exists, is the one read: its dest wins, and wyng.ini is not read.
    writeFileSync(skiffIni, '[var-global-default]\ndest = file:/nonexistent\n');
    const own = await run('list', '--verbose');
    assert.equal(own.code, 6, own.stderr);
    assert.equal(own.stderr.split('\n')[0], `Config file: ${skiffIni}`);
    // --config names the file: neither default is read.
    const named = await run('list', `--config=${wyngIni}`, '--verbose');
    assert.equal(named.code, 0, named.stderr);
    assert.match(named.stderr, new RegExp(`^Config file: ${wyngIni}$`, 'm'));
  });

  it('verify --vols-from verifies the volumes of its sets; failures leave FILE.error as Wyng writes it', async () => {
    const sets = join(scratch.dir, 'verify.json');
    writeFileSync(sets, JSON.stringify({ null: [['a.img', null]], '/elsewhere': [['b.img', null]] }));
    const good = await skiff('verify', `--vols-from=${sets}`);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /a\.img[\s\S]*b\.img/);
    assert.equal(existsSync(`${sets}.error`), false);
    const bad = await skiff('verify', `--local-from=${sets}`, '--session=20200101-000000');
    assert.equal(bad.code, 2, bad.stderr);
    assert.equal(readFileSync(`${sets}.error`, 'utf8'), '{"rc": 2, "volumes": ["a.img", "b.img"]}');
  });
});
