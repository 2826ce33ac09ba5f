// Passphrase entry on a real terminal: `script` gives the CLI a pseudo-terminal, so stdin is a
// TTY; the passphrase must be read without echo.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { kdfMemoEnv } from '../helpers/cli.js';
import { CLI, fixtureArchive } from '../helpers/paths.js';

const META = mkdtempSync(join(tmpdir(), 'skiff-terminal-meta-'));
after(() => rmSync(META, { recursive: true, force: true }));

function runOnTerminal(command: string, typed: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, TZ: 'UTC', ...kdfMemoEnv() },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      // Type only once the prompt is on the screen, as a user would.
      if (output.includes('Enter passphrase: ') && typed) {
        child.stdin.write(typed);
        typed = '';
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

/** Runs a command on a pseudo-terminal, answering each prompt (in order) when it appears. */
function converse(command: string, answers: [prompt: string, reply: string][]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, TZ: 'UTC', ...kdfMemoEnv() },
    });
    let output = '';
    let seen = 0;
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      const next = answers[0];
      if (next && output.indexOf(next[0], seen) >= 0) {
        seen = output.indexOf(next[0], seen) + next[0].length;
        child.stdin.write(next[1]);
        answers.shift();
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

describe('tags asked on a terminal (send --tag=)', () => {
  it('adds valid tags, refuses bad and repeated ones, ends on a blank line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-tags-'));
    try {
      const image = join(dir, 'disk.img');
      writeFileSync(image, Buffer.alloc(65536, 7));
      const common = `--dest=file:${dir}/archive --meta-dir=${dir}/meta --authmin=0`;
      await converse(`${process.execPath} ${CLI} arch-init --encrypt=off ${common}`, []);
      const r = await converse(`${process.execPath} ${CLI} send '--import-other-from=disk.img:|:${image}' '--tag=' ${common}`, [
        ['[1]: ', 'weekly, Weekly backup\r'],
        ['[2]: ', 'bad^tag\r'],
        ['[2]: ', 'weekly\r'],
        ['[2]: ', 't2\r'],
        ['[3]: ', '\r'],
      ]);
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, /not allowed in tag ID/);
      assert.match(r.output, /2 tags total\./);
      const list = await converse(`${process.execPath} ${CLI} list disk.img --verbose ${common}`, []);
      assert.match(list.output, / tag: t2\r?\n tag: weekly, Weekly backup/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('passphrase from a terminal', () => {
  it('is read without echo and unlocks the archive', async () => {
    const command = `${process.execPath} ${CLI} --dest=file:${fixtureArchive('enc-dgr-zstd-256k')} --authmin=0 --meta-dir=${META} list vol1.img`;
    const r = await runOnTerminal(command, 'fixture-pass-1\r');
    assert.equal(r.code, 0, r.output);
    assert.ok(!r.output.includes('fixture-pass-1'), 'the passphrase was echoed');
    assert.match(r.output, /Encrypted archive/);
    // Attended session list: a grid by month.
    assert.match(r.output, / 20261128-153704 {2}20261128-153711\r?\n/);
  });

  it('a wrong passphrase exits 3', async () => {
    const command = `${process.execPath} ${CLI} --dest=file:${fixtureArchive('enc-dgr-zstd-256k')} --authmin=0 --meta-dir=${META} list`;
    const r = await runOnTerminal(command, 'wrong passphrase\r');
    assert.equal(r.code, 3, r.output);
    assert.match(r.output, /Could not decrypt\/authenticate archive/);
  });
});

describe('receive on a terminal asks only when something would be overwritten', () => {
  const dest = `--dest=file:${fixtureArchive('plain-zlib-64k')} --meta-dir=${META} --authmin=0`;
  it('a target that does not exist: no question', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-receive-ask-'));
    try {
      const r = await converse(`${process.execPath} ${CLI} receive vol2.img --save-to=${dir}/new.img ${dest}`, [['[y/N]: ', 'n\n']]);
      assert.doesNotMatch(r.output, /overwrite/);
      assert.equal(r.code, 0, r.output);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an existing target: asked, and no keeps it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-receive-ask-'));
    try {
      writeFileSync(join(dir, 'old.img'), 'keep me');
      const r = await converse(`${process.execPath} ${CLI} receive vol2.img --save-to=${dir}/old.img ${dest}`, [['[y/N]: ', 'n\n']]);
      assert.match(r.output, /Receiving to existing volumes will overwrite them!/);
      assert.equal(r.code, 1, r.output);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
