// Runs every row of the hostile-helper table (rows.ts) through the CLI: skiff reaches a real
// archive over ssh:// (a stand-in ssh starts the fake helper, a proxy in front of the real one)
// and must end as the row says.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { errorLines, runSkiff, scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { makeVolume } from '../helpers/volumes.js';
import { DEST, ROWS, SOURCE } from './rows.js';
import { installSshStandIn } from './ssh-stand-in.js';

const scratch = scratchDir('skiff-hostile-table-');
after(scratch.cleanup);
const archive = join(scratch.dir, 'archive');
const source = join(scratch.dir, 'vol.img');

describe('hostile helper table (fake helper over a stand-in ssh)', { timeout: 600_000 }, () => {
  let bin = '';
  before(async () => {
    bin = installSshStandIn(scratch.dir);
    writeFileSync(source, makeVolume('hostile', 65536, 8, 1));
    const local = [`--dest=file:${archive}`];
    assert.equal((await runSkiffInProcess(['arch-init', '--encrypt=off', '--chunk-factor=1', ...local])).code, 0);
    assert.equal((await runSkiffInProcess(['send', `--import-other-from=vol.img:|:${source}`, ...local])).code, 0);
  });

  for (const row of ROWS) {
    it(`${row.name}: exit ${row.exit}`, { timeout: 60_000 }, async () => {
      const args = row.command.map((arg) =>
        arg === DEST ? `--dest=ssh://hostile@example.invalid${archive}` : arg.replace(SOURCE, source),
      );
      const env = {
        ...process.env,
        TZ: 'UTC',
        PATH: `${bin}:${process.env['PATH']}`,
        HOSTILE_ROW: row.name,
        SKIFF_DEST_TIMEOUT: String(row.timeout ?? 5),
      };
      // A row that bounds memory runs skiff as a process of its own, with a heap limit that turns
      // unbounded growth into a crash (exit 134), not exit 5; the others run in this process (the
      // stand-in ssh, the fake helper and the real one behind it are processes either way).
      const r = row.heapMiB
        ? await runSkiff(args, { env: { ...env, NODE_OPTIONS: `--max-old-space-size=${row.heapMiB}` } })
        : await runSkiffInProcess(args, { env });
      assert.equal(r.code, row.exit, r.stderr);
      const lines = errorLines(r);
      if (row.exit !== 0) {
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0] ?? '', row.message);
      }
    });
  }
});
