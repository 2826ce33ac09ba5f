// Local state keyed by the destination's identity (not the URL as typed), the move of a state
// directory an earlier version kept under the typed URL, and the destination anchor's verdicts.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CIPHER_MODES } from '../archive/crypto/cipher-modes.js';
import { anchorFor, compareWithAnchor, DestAnchors } from './dest-anchor.js';
import { LocalState } from './local-state.js';

const scratch = mkdtempSync(join(tmpdir(), 'skiff-local-state-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const uid = process.getuid?.() ?? 0;
const UUID = '5eeba1c0-3273-4db0-98b3-278b11a40225';
let serial = 0;

describe('LocalState.open', () => {
  it('moves the directory kept under the typed URL to the identity key, with its contents', async () => {
    const meta = join(scratch, `m${++serial}`);
    const legacy = join(meta, `a_${LocalState.archiveId(uid, UUID, 'file:///x/')}`);
    mkdirSync(join(legacy, 'volumes'), { recursive: true });
    writeFileSync(join(legacy, 'counters.json'), '{"data":"7","metadata":"9"}');
    const state = await LocalState.open(meta, UUID, 'file:/x', 'file:///x/');
    assert.equal(state.dir, join(meta, `a_${LocalState.archiveId(uid, UUID, 'file:/x')}`));
    assert.deepEqual(await state.counters(), { data: 7n, metadata: 9n });
    assert.ok(!existsSync(legacy));
  });

  it('keeps an existing identity-keyed directory and leaves the legacy one alone', async () => {
    const meta = join(scratch, `m${++serial}`);
    const current = await LocalState.open(meta, UUID, 'file:/x');
    await current.saveCounters({ data: 1n, metadata: 2n });
    const legacy = join(meta, `a_${LocalState.archiveId(uid, UUID, 'file:/x/')}`);
    mkdirSync(legacy);
    writeFileSync(join(legacy, 'counters.json'), '{"data":"7","metadata":"9"}');
    const state = await LocalState.open(meta, UUID, 'file:/x', 'file:/x/');
    assert.equal(state.dir, current.dir);
    assert.deepEqual(await state.counters(), { data: 1n, metadata: 2n });
    assert.ok(existsSync(legacy));
  });

  it('gives the canonical spelling the key earlier versions used for it (nothing to move)', async () => {
    const meta = join(scratch, `m${++serial}`);
    const state = await LocalState.open(meta, UUID, 'file:/x', 'file:/x');
    assert.deepEqual(readdirSync(meta), [`a_${LocalState.archiveId(uid, UUID, 'file:/x')}`]);
    assert.equal(state.dir, join(meta, readdirSync(meta)[0] as string));
  });
});

describe('DestAnchors', () => {
  const encrypted = CIPHER_MODES['35'];
  const plain = CIPHER_MODES['00'];

  it('saves and reads an anchor per identity as plain JSON, nothing else', async () => {
    const meta = join(scratch, `m${++serial}`);
    const anchors = new DestAnchors(meta);
    assert.equal(await anchors.read('file:/x'), null);
    await anchors.save(anchorFor('file:/x', encrypted, UUID));
    assert.deepEqual(await anchors.read('file:/x'), { dest: 'file:/x', uuid: UUID, encrypted: true, cipher: '35' });
    assert.equal(await anchors.read('file:/y'), null);
    const file = join(meta, DestAnchors.fileName(uid, 'file:/x'));
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { dest: 'file:/x', uuid: UUID, encrypted: true, cipher: '35' });
    writeFileSync(file, '{"uuid": 3}');
    await assert.rejects(anchors.read('file:/x'), /not an anchor file/);
  });

  it('refuses an unencrypted, re-ciphered or re-identified archive; accepts the uuid before a change', () => {
    const anchor = anchorFor('file:/x', encrypted, UUID, 'old-uuid');
    assert.deepEqual(compareWithAnchor(anchor, { mode: plain, uuid: UUID }), { kind: 'unencrypted' });
    assert.deepEqual(compareWithAnchor(anchor, { mode: plain, uuid: null }), { kind: 'unencrypted' });
    assert.deepEqual(compareWithAnchor(anchor, { mode: CIPHER_MODES['32'], uuid: null }), { kind: 'cipher', was: '35', now: '32' });
    assert.deepEqual(compareWithAnchor(anchor, { mode: encrypted, uuid: 'other' }), { kind: 'uuid', was: UUID, now: 'other' });
    assert.deepEqual(compareWithAnchor(anchor, { mode: encrypted, uuid: 'old-uuid' }), { kind: 'ok' });
    assert.deepEqual(compareWithAnchor(anchor, { mode: encrypted, uuid: UUID }), { kind: 'ok' });
    assert.deepEqual(compareWithAnchor(anchorFor('file:/x', plain, UUID), { mode: encrypted, uuid: null }), {
      kind: 'cipher',
      was: '00',
      now: '35',
    });
  });
});
