// A chunk file replaced by a FIFO on a file: destination: verify and receive must refuse it
// promptly with a message naming the file, not block forever on opening it.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { copyFixture, runSkiff, scratchDir } from '../helpers/cli.js';

const scratch = scratchDir();
after(scratch.cleanup);

const CHUNK = 'Vol_8c7da2/S_20261128-153734/000000000/x0000000000030000';
// Far beyond what a verify of this small archive takes; only there so a hang ends the test.
const HANG = 60_000;

describe('a FIFO in place of a chunk file (plain-zlib-64k)', () => {
  const archive = copyFixture('plain-zlib-64k', scratch.dir);
  rmSync(join(archive, CHUNK));
  execFileSync('mkfifo', [join(archive, CHUNK)]);

  for (const command of ['verify', 'receive'] as const) {
    it(`${command} fails with a clear error`, async () => {
      const target = join(scratch.dir, `${command}.img`);
      const args = command === 'receive' ? ['receive', 'vol2.img', `--save-to=${target}`] : ['verify', 'vol2.img'];
      const result = await runSkiff([`--dest=file:${archive}`, ...args], { killAfterMs: HANG });
      assert.notEqual(result.code, 128, 'the run hung and was killed');
      assert.notEqual(result.code, 0, result.stderr);
      assert.match(result.stderr, /x0000000000030000: not a regular file/);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
      assert.ok(!existsSync(target), 'no restore at the target path');
    });
  }
});
