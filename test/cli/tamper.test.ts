// Damaged copies of Wyng-made archives: one flipped byte in each kind of file, and truncated,
// missing and swapped chunks. Each must be detected with a message naming the damaged object and
// a non-zero exit code, and a failed receive must leave no restored file at the target path.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { copyFixture, errorLines, scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { FIXTURES } from '../helpers/paths.js';

const scratch = scratchDir();
after(scratch.cleanup);

function flipByte(path: string, offset: number): void {
  const bytes = readFileSync(path);
  const at = offset < 0 ? bytes.length + offset : offset;
  bytes[at] = (bytes[at] as number) ^ 0x01;
  writeFileSync(path, bytes);
}

interface Case {
  name: string;
  damage: (archive: string) => void;
  /** Expected exit code and a pattern the error output must match (naming the object). */
  code: number;
  message: RegExp;
}

let counter = 0;

async function expectDetected(fixture: string, volume: string, passphrase: string | null, c: Case): Promise<void> {
  const work = join(scratch.dir, `case${counter++}`);
  const archive = copyFixture(fixture, work);
  c.damage(archive);
  const restoreDir = join(work, 'restore');
  const target = join(restoreDir, 'volume.img');
  // In this process, so the passphrase comes from --passcmd (stdin is the process's own fd 0).
  const given = passphrase ? [`--passcmd=echo ${passphrase}`] : [];
  const receive = await runSkiffInProcess([`--dest=file:${archive}`, 'receive', volume, `--save-to=${target}`, ...given]);
  assert.equal(receive.code, c.code, `receive exit code for ${c.name}: ${receive.stderr}`);
  assert.match(receive.stderr, c.message, c.name);
  assert.ok(!existsSync(target), `${c.name}: a restore appeared at the target path`);
  if (existsSync(restoreDir)) assert.deepEqual(readdirSync(restoreDir), [], `${c.name}: leftovers in the target directory`);
  assert.doesNotMatch(receive.stderr, /\n\s+at /, 'no stack trace');
  const verify = await runSkiffInProcess([`--dest=file:${archive}`, 'verify', volume, ...given]);
  assert.notEqual(verify.code, 0, `verify must fail for ${c.name}`);
  assert.match(verify.stderr, c.message, `verify: ${c.name}`);
}

describe('tampered unencrypted archive (plain-zlib-64k, vol2.img)', () => {
  const newest = 'Vol_8c7da2/S_20261128-153740';
  const full = 'Vol_8c7da2/S_20261128-153734';
  const cases: Case[] = [
    {
      name: 'archive.ini header',
      damage: (a) => flipByte(join(a, 'archive.ini'), 3),
      code: 1,
      message: /archive\.ini: not a Wyng V3 archive/,
    },
    {
      name: 'archive.ini body',
      damage: (a) => flipByte(join(a, 'archive.ini'), 60),
      code: 1,
      message: /archive\.ini: body does not decompress/,
    },
    {
      name: 'volinfo',
      damage: (a) => flipByte(join(a, 'Vol_8c7da2/volinfo'), 20),
      code: 1,
      message: /Vol_8c7da2\/volinfo: hash does not match/,
    },
    {
      name: 'info',
      damage: (a) => flipByte(join(a, newest, 'info'), 10),
      code: 2,
      message: /S_20261128-153740\/info: hash does not match/,
    },
    {
      name: 'manifest.z',
      damage: (a) => flipByte(join(a, full, 'manifest.z'), 30),
      code: 2,
      message: /S_20261128-153734\/manifest\.z: hash does not match/,
    },
    {
      name: 'data chunk',
      damage: (a) => flipByte(join(a, full, '000000000/x0000000000080000'), 100),
      code: 2,
      message: /S_20261128-153734\/000000000\/x0000000000080000: bad hash/,
    },
    {
      name: 'truncated chunk',
      damage: (a) => truncateSync(join(a, full, '000000000/x0000000000030000'), 50),
      code: 2,
      message: /x0000000000030000: bad hash/,
    },
    {
      name: 'missing chunk',
      damage: (a) => rmSync(join(a, full, '000000000/x0000000000030000')),
      code: 2,
      message: /S_20261128-153734\/000000000\/x0000000000030000: missing/,
    },
    {
      name: 'chunks swapped',
      damage: (a) => {
        const dir = join(a, full, '000000000');
        renameSync(join(dir, 'x0000000000080000'), join(dir, 'tmp'));
        renameSync(join(dir, 'x0000000000090000'), join(dir, 'x0000000000080000'));
        renameSync(join(dir, 'tmp'), join(dir, 'x0000000000090000'));
      },
      code: 2,
      message: /x0000000000080000: bad hash/,
    },
  ];
  for (const c of cases) it(`detects a damaged ${c.name}`, () => expectDetected('plain-zlib-64k', 'vol2.img', null, c));

  it('leaves an existing target file untouched when the receive fails', async () => {
    const work = join(scratch.dir, 'existing');
    const archive = copyFixture('plain-zlib-64k', work);
    flipByte(join(archive, full, '000000000/x0000000000080000'), 100);
    const target = join(work, 'volume.img');
    writeFileSync(target, 'previous content');
    const r = await runSkiffInProcess([`--dest=file:${archive}`, 'receive', 'vol2.img', `--save-to=${target}`]);
    assert.equal(r.code, 2);
    assert.equal(readFileSync(target, 'utf8'), 'previous content');
    assert.deepEqual(readdirSync(work).sort(), ['plain-zlib-64k', 'volume.img']);
  });

  it('--skip-corrupt-chunks restores the rest, reports the chunk and exits 2', async () => {
    const work = join(scratch.dir, 'skip');
    const archive = copyFixture('plain-zlib-64k', work);
    flipByte(join(archive, full, '000000000/x0000000000080000'), 100);
    const target = join(work, 'volume.img');
    const r = await runSkiffInProcess([`--dest=file:${archive}`, 'receive', 'vol2.img', `--save-to=${target}`, '--skip-corrupt-chunks']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /Skipping corrupt chunk at 524288 /);
    // The result line says what happened, not ": OK".
    assert.match(r.stdout, /\] 100% : 1 corrupt chunk restored as zeros \n/);
    assert.doesNotMatch(r.stdout, /: OK/);
    const restored = readFileSync(target);
    const image = readFileSync(join(FIXTURES, 'plain-zlib-64k/vol2.session4.img'));
    assert.equal(restored.length, image.length);
    const bad = 0x80000;
    assert.ok(
      restored.subarray(bad, bad + 65536).every((b) => b === 0),
      'the corrupt chunk reads as zeros',
    );
    assert.ok(restored.subarray(0, bad).equals(image.subarray(0, bad)), 'chunks before it are restored');
    assert.ok(restored.subarray(bad + 65536).equals(image.subarray(bad + 65536)), 'chunks after it are restored');
  });
});

describe('tampered encrypted archive (enc-dgr-zstd-256k, vol1.img)', () => {
  const newest = 'Vol_7b1cc7/S_20261128-153711';
  const full = 'Vol_7b1cc7/S_20261128-153704';
  const cases: Case[] = [
    {
      name: 'archive.ini header cipher code',
      damage: (a) => flipByte(join(a, 'archive.ini'), 15),
      code: 1,
      message: /archive\.ini: ci_mode 35 does not match the header's ci 34/,
    },
    {
      name: 'archive.ini body',
      damage: (a) => flipByte(join(a, 'archive.ini'), -5),
      code: 3,
      message: /Could not decrypt\/authenticate archive/,
    },
    {
      name: 'archive.salt salt',
      damage: (a) => flipByte(join(a, 'archive.salt'), 100),
      code: 3,
      message: /Could not decrypt\/authenticate archive/,
    },
    {
      name: 'archive.salt record',
      damage: (a) => flipByte(join(a, 'archive.salt'), -1),
      code: 3,
      message: /archive\.salt failed authentication/,
    },
    {
      name: 'volinfo',
      damage: (a) => flipByte(join(a, 'Vol_7b1cc7/volinfo'), 60),
      code: 1,
      message: /Vol_7b1cc7\/volinfo: failed authentication/,
    },
    {
      name: 'info',
      damage: (a) => flipByte(join(a, newest, 'info'), 50),
      code: 2,
      message: /S_20261128-153711\/info: failed authentication/,
    },
    {
      name: 'manifest.z',
      damage: (a) => flipByte(join(a, full, 'manifest.z'), 45),
      code: 2,
      message: /S_20261128-153704\/manifest\.z: failed authentication/,
    },
    {
      name: 'data chunk',
      damage: (a) => flipByte(join(a, full, '000000000/x00000000000c0000'), 1000),
      code: 2,
      message: /S_20261128-153704\/000000000\/x00000000000c0000: bad hash/,
    },
  ];
  for (const c of cases) it(`detects a damaged ${c.name}`, () => expectDetected('enc-dgr-zstd-256k', 'vol1.img', 'fixture-pass-1', c));
});

describe('error output', () => {
  it('is one line per problem, without a stack trace', async () => {
    const work = join(scratch.dir, 'lines');
    const archive = copyFixture('plain-zlib-64k', work);
    flipByte(join(archive, 'archive.ini'), 3);
    const r = await runSkiffInProcess([`--dest=file:${archive}`, 'list']);
    assert.deepEqual(errorLines(r), ['archive.ini: not a Wyng V3 archive (bad header)']);
  });
});
