// A hostile destination replacing the archive (issue 11, item 2), through the built CLI on file:
// destinations. The destination may swap this machine's encrypted archive for an unencrypted one
// of its own (another uuid, or the original uuid copied into it): receive must not restore its
// data and send must not upload the volume in plaintext. The check is anchored per destination
// (however its URL is spelled), is written by arch-init, and is moved only by the user's explicit
// --accept-new-archive. Restored files never get setuid/setgid/sticky bits from an archive.

import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CIPHER_MODES } from '../../source-agent/archive/crypto/cipher-modes.js';
import { createArchive } from '../../source-agent/engine/maintain/arch-init.js';
import { type SendEvents, send } from '../../source-agent/engine/send/send.js';
import { prepareImport } from '../../source-agent/source/import-source.js';
import { LocalStore } from '../../source-agent/store/local-store.js';
import { type CliResult, scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { makeVolume } from '../helpers/volumes.js';
import { writerFor } from '../helpers/write-context.js';
import { hashTree } from '../volumes/archive-fixture.js';

const scratch = scratchDir('skiff-downgrade-');
after(scratch.cleanup);
let serial = 0;
const PASSPHRASE = 'downgrade-test-passphrase';
const VOLUME = 'vol.img';

interface Place {
  dest: string;
  meta: string;
  skiff: (...args: string[]) => Promise<CliResult>;
}

/** An archive directory and a metadata directory of its own (one "machine"). */
function place(name: string, meta = join(scratch.dir, `${name}-meta`)): Place {
  const dest = join(scratch.dir, name);
  const skiff = (...args: string[]) =>
    runSkiffInProcess([...args, `--meta-dir=${meta}`, ...(args.some((a) => a.startsWith('--dest')) ? [] : [`--dest=file:${dest}`])]);
  return { dest, meta, skiff };
}

async function ok(result: Promise<CliResult>): Promise<CliResult> {
  const r = await result;
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  return r;
}

function source(seed: string): string {
  const path = join(scratch.dir, `${seed}-${++serial}.img`);
  writeFileSync(path, makeVolume(seed, 65536, 3, 100));
  return path;
}

/** An unencrypted archive made by someone else (its own metadata directory), holding VOLUME. */
async function attackerArchive(name: string): Promise<{ dest: string; data: Buffer }> {
  const attacker = place(name);
  await ok(attacker.skiff('arch-init', '--encrypt=off', '--chunk-factor=1'));
  const path = source(`${name}-data`);
  await ok(attacker.skiff('send', `--import-other-from=${VOLUME}:|:${path}`));
  return { dest: attacker.dest, data: readFileSync(path) };
}

/** Puts a copy of `replacement` where `victim` was (the destination swapping archives). */
function swapIn(victim: string, replacement: string): void {
  rmSync(victim, { recursive: true, force: true });
  cpSync(replacement, victim, { recursive: true });
}

/** Rewrites an unencrypted archive.ini with another uuid (the attacker copies the victim's). */
function setPlainUuid(dest: string, uuid: string): void {
  const file = readFileSync(join(dest, 'archive.ini'));
  const text = gunzipSync(file.subarray(17)).toString('utf8');
  const next = text.replace(/^uuid = .*$/m, `uuid = ${uuid}`);
  assert.notEqual(next, text);
  writeFileSync(join(dest, 'archive.ini'), Buffer.concat([file.subarray(0, 17), gzipSync(Buffer.from(next), { level: 4 })]));
}

/** receive and send against the replaced archive: both refused, nothing restored, nothing written. */
async function assertRefused(victim: Place, pattern: RegExp): Promise<void> {
  const before = hashTree(victim.dest);
  const target = join(scratch.dir, `restored-${++serial}.img`);
  const receive = await victim.skiff('receive', VOLUME, `--save-to=${target}`, `--passcmd=echo ${PASSPHRASE}`);
  assert.equal(receive.code, 1, `receive: ${receive.stdout}\n${receive.stderr}`);
  assert.match(receive.stderr, pattern);
  assert.ok(!existsSync(target), 'nothing restored');
  const send = await victim.skiff('send', `--import-other-from=${VOLUME}:|:${source('secret')}`, `--passcmd=echo ${PASSPHRASE}`);
  assert.equal(send.code, 1, `send: ${send.stdout}\n${send.stderr}`);
  assert.match(send.stderr, pattern);
  assert.deepEqual(hashTree(victim.dest), before, 'the destination is byte-identical: nothing sent');
  assert.doesNotMatch(receive.stderr + send.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(errorLines(receive).length, 1, receive.stderr);
}

function errorLines(result: CliResult): string[] {
  return result.stderr.split('\n').filter((line) => line.trim() !== '');
}

describe('an encrypted archive replaced by an unencrypted one', () => {
  const victim = place('victim');
  let uuid = '';
  let sameUuidData: Buffer = Buffer.alloc(0);

  before(async () => {
    await ok(victim.skiff('arch-init', '--chunk-factor=1', `--passcmd=echo ${PASSPHRASE}`));
    await ok(victim.skiff('send', `--import-other-from=${VOLUME}:|:${source('victim-data')}`, `--passcmd=echo ${PASSPHRASE}`));
    const list = await ok(victim.skiff('list', '--verbose', `--passcmd=echo ${PASSPHRASE}`));
    uuid = /^ uuid += (\S+)$/m.exec(list.stdout)?.[1] ?? '';
    assert.ok(uuid, list.stdout);
  });

  it('with another uuid: receive and send refused (exit 1), nothing restored, nothing sent', async () => {
    const attacker = await attackerArchive('attacker-other-uuid');
    swapIn(victim.dest, attacker.dest);
    await assertRefused(victim, /is now unencrypted.*--accept-new-archive/);
  });

  it('with the same uuid: refused likewise', async () => {
    const attacker = await attackerArchive('attacker-same-uuid');
    setPlainUuid(attacker.dest, uuid);
    swapIn(victim.dest, attacker.dest);
    sameUuidData = attacker.data;
    await assertRefused(victim, /is now unencrypted.*--accept-new-archive/);
  });

  it('without an anchor (state kept by an earlier version), the cached encrypted root still refuses it', async () => {
    const meta = join(scratch.dir, 'victim-meta-without-anchor');
    cpSync(victim.meta, meta, { recursive: true });
    const anchors = readdirSync(meta).filter((name) => name.startsWith('anchor_'));
    assert.equal(anchors.length, 1, 'arch-init and the opens made one anchor');
    rmSync(join(meta, anchors[0] as string));
    const upgraded = place('victim', meta);
    await assertRefused(upgraded, /does not match the copy of its archive\.ini .*--accept-new-archive/);
  });

  it('with --accept-new-archive the replacement is accepted, and from then on it is the anchor', async () => {
    const target = join(scratch.dir, 'accepted.img');
    const accepted = await victim.skiff('receive', VOLUME, `--save-to=${target}`, '--accept-new-archive');
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.ok(readFileSync(target).equals(sameUuidData), 'the accepted archive restores');
    const again = await victim.skiff('list');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Un-encrypted archive/);
  });
});

describe('the anchor', () => {
  it('is written by arch-init: a replacement right after it is refused; a normal open passes', async () => {
    const fresh = place('fresh');
    await ok(fresh.skiff('arch-init', '--chunk-factor=1', `--passcmd=echo ${PASSPHRASE}`));
    await ok(fresh.skiff('list', `--passcmd=echo ${PASSPHRASE}`));
    const attacker = await attackerArchive('attacker-fresh');
    swapIn(fresh.dest, attacker.dest);
    await assertRefused(fresh, /is now unencrypted.*--accept-new-archive/);
  });

  it('an unencrypted archive replaced by another (other uuid) is refused, and accepted with the option', async () => {
    const mine = place('plain-mine');
    await ok(mine.skiff('arch-init', '--encrypt=off', '--chunk-factor=1'));
    await ok(mine.skiff('send', `--import-other-from=${VOLUME}:|:${source('plain-mine')}`));
    const attacker = await attackerArchive('attacker-plain');
    swapIn(mine.dest, attacker.dest);
    await assertRefused(mine, /has another uuid.*--accept-new-archive/);
    await ok(mine.skiff('list', '--accept-new-archive'));
    await ok(mine.skiff('list'));
  });

  it('and the rollback check do not depend on how the URL is spelled', async () => {
    const archive = place('spelled');
    await ok(archive.skiff('arch-init', '--encrypt=off', '--chunk-factor=1'));
    const path = source('spelled');
    await ok(archive.skiff('send', `--import-other-from=${VOLUME}:|:${path}`));
    const old = join(scratch.dir, 'spelled-old');
    cpSync(archive.dest, old, { recursive: true });
    writeFileSync(path, makeVolume('spelled-2', 65536, 3, 100));
    await ok(archive.skiff('send', `--import-other-from=${VOLUME}:|:${path}`));
    rmSync(archive.dest, { recursive: true });
    cpSync(old, archive.dest, { recursive: true });
    const parent = scratch.dir.replace(/^\//, '');
    const name = 'spelled';
    for (const url of [
      `file:/${parent}/${name}`,
      `file:/${parent}/${name}/`,
      `file:///${parent}/${name}`,
      `file:/${parent}/./${name}`,
      `file:/${parent}//${name}/.`,
    ]) {
      const r = await archive.skiff(`--dest=${url}`, 'list');
      assert.equal(r.code, 1, `${url}: ${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, /archive\.ini: is older/, url);
    }
  });
});

describe('receive masks restored permissions', () => {
  it('a crafted session info with mode 4755 (setuid) and unknown owner names restores as 0755', async () => {
    const dest = join(scratch.dir, 'setuid');
    const archive = await createArchive(new LocalStore(dest), {
      mode: CIPHER_MODES['00'],
      compression: 'zstd',
      level: 3,
      chunkSize: 65536,
      passphrase: async () => Buffer.alloc(0),
      now: () => Date.now() / 1000,
    });
    const path = source('setuid');
    const quiet: SendEvents = { note() {}, warn() {}, sending() {}, volumeStart: () => ({ update() {} }), volumeEnd() {} };
    const crafted = async () => ({ ...(await prepareImport(path)), permissions: `${0o104755}:nosuchuser:nosuchgroup` });
    const volumes = [{ name: VOLUME, prepare: crafted }];
    const request = { writer: writerFor(archive), volumes, tags: new Map(), sendUnchanged: true, dryRun: false, startedAt: new Date() };
    assert.equal((await send(request, quiet))[0]?.outcome, 'sent');
    const target = join(scratch.dir, 'setuid-restored.img');
    await ok(runSkiffInProcess([`--dest=file:${dest}`, 'receive', VOLUME, `--save-to=${target}`]));
    assert.equal((statSync(target).mode & 0o7777).toString(8), '755');
    assert.ok(readFileSync(target).equals(readFileSync(path)));
  });
});
