// The skiff-qubes executable as a process: the package's second bin starts, prints its usage,
// and refuses bad command lines with one line and wyng-util-qubes' exit code 1 — before asking
// qubesd anything (the socket named here does not exist). No Qubes needed.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../helpers/paths.js';

const BIN = resolve(PROJECT_ROOT, 'dist/source-agent/qubes/main.js');

function skiffQubes(...args: string[]) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', env: { ...process.env, SKIFF_QUBESD_SOCKET: '/nonexistent/qubesd.sock' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('skiff-qubes executable', () => {
  it("is the package's second bin and prints its usage", () => {
    const bins = (JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin;
    assert.equal(bins['skiff-qubes'], 'dist/source-agent/qubes/main.js');
    const r = skiffQubes('--help');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^usage: skiff-qubes ACTION \[options\] \[QUBE \.\.\.\]$/m);
  });

  it('refuses bad command lines with one line and exit 1', () => {
    for (const [args, message] of [
      [['frobnicate'], "skiff-qubes: unknown action 'frobnicate' (backup, restore, list, verify, prune, delete)"],
      [['backup', '--bogus'], 'skiff-qubes: unknown option --bogus'],
      [['restore', '--all'], '--all may only be used with list or prune.'],
      [['restore', '--local=x'], 'Please use --pool instead of --local'],
      [['list', '--session'], 'skiff-qubes: --session needs a value'],
    ] as const) {
      const r = skiffQubes(...args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, `${message}\n`, args.join(' '));
    }
  });

  it('says so in one line when qubesd cannot be reached', () => {
    const r = skiffQubes('list', '--pool-info');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^cannot reach qubesd at \/nonexistent\/qubesd\.sock: connect ENOENT/);
    assert.equal(r.stderr.split('\n').length, 2, 'one line');
  });
});
