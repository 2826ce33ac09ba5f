// Send reads the time from the writer's clock only (the one the CLI injects through its
// context), never from the system clock: in a ct-nonce archive every chunk's nonce begins with
// the time of its encryption, so a fixed clock must show in every chunk file sent.

import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ArchiveWriter } from '../../source-agent/archive/archive-writer.js';
import { CIPHER_MODES } from '../../source-agent/archive/crypto/cipher-modes.js';
import { NonceCounters } from '../../source-agent/archive/nonces.js';
import { createArchive } from '../../source-agent/engine/maintain/arch-init.js';
import { type SendEvents, send } from '../../source-agent/engine/send/send.js';
import { prepareImport } from '../../source-agent/source/import-source.js';
import { LocalStore } from '../../source-agent/store/local-store.js';
import { scratchDir, useKdfMemoHere } from '../helpers/cli.js';
import { CHUNK } from '../helpers/session-archive.js';
import { makeVolume } from '../helpers/volumes.js';

// Not about the key derivation: the archive's scrypt comes from the test memo (helpers/cli.ts).
useKdfMemoHere();

const scratch = scratchDir('skiff-send-clock-');
after(scratch.cleanup);
const quiet: SendEvents = { note() {}, warn() {}, sending() {}, volumeStart: () => ({ update() {} }), volumeEnd() {} };

/** 2030-03-17: far from the time this test runs, so the system clock cannot pass for it. */
const FIXED_SECONDS = 1_900_000_000;
/** ct nonces count seconds from 2020 (archive/nonces.ts). */
const CT_EPOCH = 1_577_880_000;

function chunkFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((path) => /(^|\/)x[0-9a-f]{16}$/.test(path))
    .map((path) => join(dir, path));
}

describe('send and the clock', () => {
  it('stamps every chunk of a ct-nonce archive with the writer clock', async () => {
    const clock = () => FIXED_SECONDS;
    const root = join(scratch.dir, 'archive');
    mkdirSync(root);
    const archive = await createArchive(new LocalStore(root), {
      mode: CIPHER_MODES['32'],
      compression: 'zstd',
      level: 3,
      chunkSize: CHUNK,
      passphrase: async () => Buffer.from('clock'),
      now: clock,
    });
    const keys = archive.keys!;
    const counters = new NonceCounters(
      'ct',
      keys.metadataNonceKey,
      { data: archive.ini.dataCounter ?? 0n, metadata: archive.ini.metadataCounter ?? 0n },
      clock,
    );
    const source = join(scratch.dir, 'a.img');
    writeFileSync(source, makeVolume('clock', CHUNK, 3, 100));

    const reports = await send(
      {
        writer: new ArchiveWriter(archive, counters, clock),
        volumes: [{ name: 'a.img', prepare: () => prepareImport(source) }],
        tags: new Map(),
        sendUnchanged: false,
        dryRun: false,
        startedAt: new Date(FIXED_SECONDS * 1000),
      },
      quiet,
    );
    assert.equal(reports[0]?.outcome, 'sent');

    const files = chunkFiles(root);
    assert.ok(files.length >= 2, `chunk files: ${files.length}`);
    for (const file of files) assert.equal(readFileSync(file).readUInt32BE(0), FIXED_SECONDS - CT_EPOCH, file);
  });
});
