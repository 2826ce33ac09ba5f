// A destination's text on the user's terminal: names it lists and metadata an unencrypted
// archive carries (tag ids and descriptions, archive.ini entries) are printed with their control
// characters made visible, never raw. The helper's own words are covered in hostile-helper.test.ts.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CIPHER_MODES } from '../../source-agent/archive/crypto/cipher-modes.js';
import { createArchive } from '../../source-agent/engine/maintain/arch-init.js';
import { type SendEvents, send } from '../../source-agent/engine/send/send.js';
import { prepareImport } from '../../source-agent/source/import-source.js';
import { LocalStore } from '../../source-agent/store/local-store.js';
import { copyArchive, PLAIN } from '../arch-check/helpers.js';
import { scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { terminalProblem } from '../helpers/hostile-text.js';
import { makeVolume } from '../helpers/volumes.js';
import { writerFor } from '../helpers/write-context.js';

const scratch = scratchDir('skiff-terminal-injection-');
after(scratch.cleanup);

const quiet: SendEvents = { note() {}, warn() {}, sending() {}, volumeStart: () => ({ update() {} }), volumeEnd() {} };

describe('terminal injection through a file: destination', { timeout: 120_000 }, () => {
  it('arch-check --clean: names with controls are not archive names; nothing raw is printed', async () => {
    const root = copyArchive(PLAIN.dir, join(scratch.dir, 'clean'));
    // Each would match a --clean pattern if controls were allowed in names.
    const planted = [
      '.skiff-put-\x1b]0;owned\x07',
      '.skiff-put-\nVerification OK',
      `${PLAIN.vid}/S\u009b2J-tmp/`,
      `${PLAIN.vid}/.skiff-put-\u202e`,
    ];
    for (const path of planted) {
      if (path.endsWith('/')) mkdirSync(join(root, path));
      else writeFileSync(join(root, path), 'planted');
    }
    const r = await runSkiffInProcess([
      `--dest=file:${root}`,
      `--meta-dir=${join(scratch.dir, 'meta-clean')}`,
      'arch-check',
      '--clean',
      '--verbose',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(terminalProblem(r.bytes), null, JSON.stringify(r.stdout + r.stderr));
    // Skiff and Wyng never make such names: they are not the archive's, and are left alone.
    for (const path of planted) assert.ok(existsSync(join(root, path)), path);
  });

  it('an error that quotes archive.ini is printed inert', async () => {
    const root = copyArchive(PLAIN.dir, join(scratch.dir, 'bad-uuid'));
    const file = readFileSync(join(root, 'archive.ini'));
    const text = gunzipSync(file.subarray(17))
      .toString('utf8')
      .replace(/^uuid = .*$/m, 'uuid = \x1b]0;owned\x07\u009b2J\rVerification OK');
    writeFileSync(join(root, 'archive.ini'), Buffer.concat([file.subarray(0, 17), gzipSync(Buffer.from(text), { level: 4 })]));
    const r = await runSkiffInProcess([`--dest=file:${root}`, `--meta-dir=${join(scratch.dir, 'meta-bad-uuid')}`, 'list']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(terminalProblem(r.bytes), null, JSON.stringify(r.stdout + r.stderr));
    assert.match(r.stderr, /bad uuid: \\x1b\]0;owned\\x07\\u009b2J\\rVerification OK/);
  });

  it('list: tags and archive.ini entries with controls are shown escaped', async () => {
    const root = join(scratch.dir, 'tags');
    const archive = await createArchive(new LocalStore(root), {
      mode: CIPHER_MODES['00'],
      compression: 'zstd',
      level: 3,
      chunkSize: 65536,
      passphrase: async () => Buffer.alloc(0),
      now: () => Date.now() / 1000,
    });
    const source = join(scratch.dir, 'tags.img');
    writeFileSync(source, makeVolume('tags', 65536, 2));
    // The engine writes what it is given; an unencrypted archive is anyone's to write.
    const tags = new Map([['\x1b]0;owned\x07', '\x1b[2J\u009b31m\u202e fake']]);
    const reports = await send(
      {
        writer: writerFor(archive),
        volumes: [{ name: 'tags.img', prepare: () => prepareImport(source) }],
        tags,
        sendUnchanged: true,
        dryRun: false,
        startedAt: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
      },
      quiet,
    );
    assert.equal(reports[0]?.outcome, 'sent');
    // archive.ini is not authenticated without encryption: add an entry to [var].
    const file = readFileSync(join(root, 'archive.ini'));
    const text = gunzipSync(file.subarray(17)).toString('utf8').replace('[var]\n', '[var]\nnote = \x1b]0;owned\x07\u009b31m\n');
    writeFileSync(join(root, 'archive.ini'), Buffer.concat([file.subarray(0, 17), gzipSync(Buffer.from(text), { level: 4 })]));

    const runs: [args: string[], shown: string][] = [
      [['list', '--verbose'], 'note            = \\x1b]0;owned\\x07\\u009b31m'],
      [['list', '--verbose', 'tags.img'], ' tag: \\x1b]0;owned\\x07, \\x1b[2J\\u009b31m\\u202e fake'],
      // Python's repr() of the description, as Wyng prints it.
      [['list', '--tag', 'tags.img'], "'\\x1b[2J\\x9b31m\\u202e fake'"],
      [['list', '--json'], '"\\u001b]0;owned\\u0007": "\\u001b[2J\\u009b31m\\u202e fake"'],
    ];
    for (const [args, shown] of runs) {
      const r = await runSkiffInProcess([`--dest=file:${root}`, `--meta-dir=${join(scratch.dir, 'meta-tags')}`, ...args]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(terminalProblem(r.bytes), null, `${args.join(' ')}: ${JSON.stringify(r.stdout + r.stderr)}`);
      assert.ok(r.stdout.includes(shown), `${args.join(' ')}: ${r.stdout}`);
    }
  });
});
