// Progress as a person sees it: the built CLI runs in a real terminal (tmux, fixed window size)
// and the tests read the rendered screen. SKIFF_TEST_READ_DELAY_MS (test-only) slows the readers
// of send and receive so that a small volume takes a few seconds and its progress rows can be
// watched. Also here: what unattended runs print where progress ends (the send summary's time,
// --skip-corrupt-chunks' result line).

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyFixture, kdfMemoEnv, runSkiff, scratchDir } from '../helpers/cli.js';
import { CLI } from '../helpers/paths.js';
import { requireTool } from '../helpers/system.js';
import { TmuxTerminal } from '../helpers/tmux.js';
import { makeVolume } from '../helpers/volumes.js';

const scratch = scratchDir('skiff-progress-');
after(scratch.cleanup);

const RULE = '—'.repeat(50);
const NAME = 'appvms/work.img';
const CHUNK = 256 * 1024;

/** A live row: stored MB, percentage, rate, ETA and the volume name, nothing after it. */
function liveRow(name: string): RegExp {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^ *\\d+\\.\\dMB \\| +\\d+% +[\\d.]+ MB/s +ETA \\d+:\\d\\d \\| ${escaped}$`);
}

describe('progress on a terminal (tmux)', () => {
  const image = join(scratch.dir, 'work.img');
  const archive = join(scratch.dir, 'archive');
  const common = [`--dest=file:${archive}`, `--meta-dir=${join(scratch.dir, 'meta')}`, '--authmin=0'];
  const terminals: TmuxTerminal[] = [];
  const terminal = (args: readonly string[], delayMs: number, columns = 100) => {
    const memo = Object.entries(kdfMemoEnv()).map(([name, value]) => `${name}=${value}`);
    const argv = ['env', 'TZ=UTC', `SKIFF_TEST_READ_DELAY_MS=${delayMs}`, ...memo, process.execPath, CLI, ...args, ...common];
    const t = new TmuxTerminal(argv, { columns, rows: 30 });
    terminals.push(t);
    return t;
  };
  after(() => {
    for (const t of terminals) t.close();
  });

  before(async () => {
    writeFileSync(image, makeVolume('progress', CHUNK, 64)); // 16 MiB, 64 chunks
    const r = await runSkiff(['arch-init', '--encrypt=off', ...common]);
    assert.equal(r.code, 0, r.stderr);
  });

  it('send: a row with the volume name, percentage, rate and ETA; the finished row leaves nothing behind', async (t) => {
    if (!requireTool(t, 'tmux')) return;
    const term = terminal(['send', `--import-other-from=${NAME}:|:${image}`], 40);
    const { status, screens } = await term.finished();
    const last = screens.at(-1) as string[];
    assert.equal(status, 0, last.join('\n'));
    const rows = screens.flat().filter((line) => liveRow(NAME).test(line));
    assert.ok(rows.length > 0, `no live row seen; screens:\n${screens.map((s) => s.join('\n')).join('\n-----\n')}`);
    // The finished row replaced the live one completely: exactly Wyng's row, then the rule.
    const at = last.indexOf(RULE);
    assert.ok(at >= 0, last.join('\n'));
    assert.match(last[at + 1] as string, new RegExp(`^ +\\d+\\.\\dMB \\| +\\d+s \\| ${NAME.replace('.', '\\.')}$`));
    assert.equal(last[at + 1]?.indexOf('MB |'), 9, 'the MB column is 11 characters wide, as in Wyng');
    assert.equal(last[at + 2], RULE);
    assert.match(last[at + 3] as string, /^1 volumes, 16——>\d+ MB in \d+\.\d seconds\.$/);
    assert.ok(!last.some((line) => /MB\/s|ETA/.test(line)), `a live row was left on the screen:\n${last.join('\n')}`);
  });

  it('receive: a row with the volume name, percentage, rate and ETA, then exactly "[…] 100% : OK"', async (t) => {
    if (!requireTool(t, 'tmux')) return;
    const target = join(scratch.dir, 'restored.img');
    const term = terminal(['receive', NAME, `--save-to=${target}`, '--force'], 40);
    const { status, screens } = await term.finished();
    const last = screens.at(-1) as string[];
    assert.equal(status, 0, last.join('\n'));
    assert.ok(
      screens.flat().some((line) => liveRow(NAME).test(line)),
      `no live row seen; screens:\n${screens.map((s) => s.join('\n')).join('\n-----\n')}`,
    );
    const at = last.findIndex((line) => line.startsWith('Saving to '));
    assert.ok(at >= 0, last.join('\n'));
    assert.equal(last[at + 1], `[${'|'.repeat(20)}] 100% : OK`);
  });

  it('a long volume name is cut to fit the window: a row never wraps', async (t) => {
    if (!requireTool(t, 'tmux')) return;
    const long = `appvms/${'a-rather-long-volume-name-'.repeat(3)}x.img`;
    const term = terminal(['send', `--import-other-from=${long}:|:${image}`], 40, 70);
    const { status, screens } = await term.finished();
    assert.equal(status, 0, (screens.at(-1) as string[]).join('\n'));
    const rows = screens.flat().filter((line) => / MB\/s +ETA /.test(line));
    assert.ok(rows.length > 0, `no live row seen; screens:\n${screens.map((s) => s.join('\n')).join('\n-----\n')}`);
    for (const row of rows) {
      assert.ok([...row].length < 70, `row wider than the window: ${row}`);
      assert.match(row, /\| …[^ ]*-x\.img$/, `the name's end is kept: ${row}`);
    }
  });

  it('Ctrl-C: the row is cleared and "*** Interrupt." is on its own line; exit 8', async (t) => {
    if (!requireTool(t, 'tmux')) return;
    const term = terminal(['send', `--import-other-from=${NAME}:|:${image}`], 400);
    await term.watch((screen) => screen.some((line) => liveRow(NAME).test(line)));
    await term.sendKeys('C-c');
    const { status, screens } = await term.finished();
    const last = screens.at(-1) as string[];
    assert.equal(status, 8, last.join('\n'));
    const at = last.indexOf('*** Interrupt.');
    assert.ok(at > 0, `no "*** Interrupt." line:\n${last.join('\n')}`);
    assert.equal(last[at - 1], RULE, `the progress row was not cleared:\n${last.join('\n')}`);
    assert.equal(last.filter((line) => line.includes('Interrupt')).length, 1, last.join('\n'));
  });
});

describe('where progress ends, unattended', () => {
  it("send's summary counts from the command's start (a slow --passcmd included)", async () => {
    const archive = copyFixture('enc-dgr-zstd-256k', scratch.dir);
    const image = join(scratch.dir, 'small.img');
    writeFileSync(image, makeVolume('summary', 65536, 4));
    const r = await runSkiff([
      `--dest=file:${archive}`,
      'send',
      `--import-other-from=small.img:|:${image}`,
      "--passcmd=sleep 2; echo 'fixture-pass-1'",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const seconds = Number(/ MB in (\d+\.\d) seconds\.\n/.exec(r.stdout)?.[1]);
    assert.ok(seconds >= 2, `the summary says ${seconds} s; the passphrase command alone took 2 s:\n${r.stdout}`);
  });
});
