// The [in_process] journal codec: what Skiff writes must decode to the same operation (and is
// what Wyng writes), and anything else in the journal is an integrity error, never a guess.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IntegrityError } from '../errors.js';
import type { ArchiveIni } from './archive-ini.js';
import { CIPHER_MODES } from './crypto/cipher-modes.js';
import { type Journal, journalEntries, parseJournal } from './journal.js';
import type { SessionName, VolumeId } from './names.js';

const vid = 'Vol_7b1cc7' as VolumeId;
const at = (text: string) => `S_20261128-${text}` as SessionName;

function iniWith(inProcess: string[]): ArchiveIni {
  const mode = CIPHER_MODES['00'];
  return {
    updatedAt: '1',
    uuid: 'c0ffee00-0000-4000-8000-000000000000',
    formatVersion: 3,
    chunkSize: 65536,
    compression: 'zlib',
    compressionLevel: 3,
    hashtype: mode.hashtype,
    mode,
    dataCounter: null,
    metadataCounter: null,
    volumes: new Map(),
    inProcess,
    varEntries: [],
  };
}

describe('the [in_process] journal', () => {
  it('writes a merge as Wyng does and reads it back', () => {
    const merge: Journal = { kind: 'merge', vid, target: at('120000'), sources: [at('100000'), at('110000')] };
    const entries = journalEntries(merge);
    assert.deepEqual(entries, ['merge', 'Vol_7b1cc7', 'True', 'S_20261128-120000', 'S_20261128-100000:|S_20261128-110000']);
    assert.deepEqual(parseJournal(iniWith(entries)), merge);
  });

  it('writes a delete and reads it back', () => {
    const entries = journalEntries({ kind: 'delete', vid });
    assert.deepEqual(entries, ['delete', 'Vol_7b1cc7']);
    assert.deepEqual(parseJournal(iniWith(entries)), { kind: 'delete', vid });
  });

  it('is empty when nothing is in process', () => {
    assert.equal(parseJournal(iniWith([])), null);
  });

  it('refuses what it does not understand', () => {
    const bad: [string[], string][] = [
      [['delete', '../etc'], 'names no valid volume'],
      [['delete'], 'names no valid volume'],
      [['delete', vid, 'extra'], 'Skiff does not know'],
      [['rename', vid], 'Skiff does not know'],
      [['merge', vid, 'True', 'S_20261128-120000', 'S_bad'], 'malformed merge'],
      [['merge', vid, 'True', 'S_20261128-120000', 'S_20261128-120000'], 'malformed merge'],
      [['merge', vid, 'True', 'S_20261128-120000', 'S_20261128-100000:|S_20261128-100000'], 'malformed merge'],
      [['merge', vid, '', 'S_20261128-120000', 'S_20261128-100000'], 'does not clear its sources'],
    ];
    for (const [entries, says] of bad) {
      assert.throws(
        () => parseJournal(iniWith(entries)),
        (error: unknown) => error instanceof IntegrityError && error.message.includes('archive.ini') && error.message.includes(says),
        JSON.stringify(entries),
      );
    }
  });
});
