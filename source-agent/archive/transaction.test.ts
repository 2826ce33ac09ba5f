// The order in which a commit touches the destination is the format's promise (Wyng reads and
// completes what it finds): these tests record every store write of arch-init's files, a send's
// zipper commit, a root-only publish and a delete's steps, and assert them operation by operation;
// then they open what was written, so the hash chain the commit built is checked too.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from '../store/memory-store.js';
import { Archive } from './archive.js';
import type { ArchiveIni } from './archive-ini.js';
import { ArchiveWriter } from './archive-writer.js';
import { writeNewArchive } from './create.js';
import { CIPHER_MODES } from './crypto/cipher-modes.js';
import { initHashing } from './hash.js';
import type { SessionName, VolumeId } from './names.js';
import { SessionStaging } from './session-staging.js';
import { publishRoot, Transaction } from './transaction.js';
import { journalDelete, removeVolumeData } from './volume-delete.js';

/** A MemoryStore that logs each write operation, in order, as "op path [path]". */
class RecordingStore extends MemoryStore {
  readonly log: string[] = [];
  /** MemoryStore's writeNew puts: that put is not a write of its own. */
  private inWriteNew = false;
  override async put(path: string, data: Uint8Array) {
    if (!this.inWriteNew) this.log.push(`put ${path}`);
    await super.put(path, data);
  }
  override async writeNew(path: string, data: Uint8Array) {
    this.log.push(`writeNew ${path}`);
    this.inWriteNew = true;
    try {
      await super.writeNew(path, data);
    } finally {
      this.inWriteNew = false;
    }
  }
  override async flush() {
    this.log.push('flush');
  }
  override async fsyncDir(path: string) {
    this.log.push(`fsyncDir ${path}`);
    await super.fsyncDir(path);
  }
  override async mkdir(path: string) {
    this.log.push(`mkdir ${path}`);
    await super.mkdir(path);
  }
  override async link(existing: string, path: string) {
    this.log.push(`link ${existing} ${path}`);
    await super.link(existing, path);
  }
  override async renameBatch(pairs: readonly (readonly [string, string])[]) {
    for (const [from, to] of pairs) this.log.push(`rename ${from} ${to}`);
    await super.renameBatch(pairs);
  }
  override async remove(path: string) {
    this.log.push(`remove ${path}`);
    await super.remove(path);
  }
  override async removeTree(path: string) {
    this.log.push(`removeTree ${path}`);
    await super.removeTree(path);
  }
  take(): string[] {
    return this.log.splice(0);
  }
}

const CHUNK = 65536;
const vid = 'Vol_7b1cc7' as VolumeId;
const session = 'S_20261128-153704' as SessionName;
let clock = 1_800_000_000;
const now = () => ++clock;

async function newArchive(store: RecordingStore): Promise<Archive> {
  await initHashing();
  const mode = CIPHER_MODES['00'];
  const ini: ArchiveIni = {
    updatedAt: '0',
    uuid: 'c0ffee00-0000-4000-8000-000000000000',
    formatVersion: 3,
    chunkSize: CHUNK,
    compression: 'zlib',
    compressionLevel: 3,
    hashtype: mode.hashtype,
    mode,
    dataCounter: null,
    metadataCounter: null,
    volumes: new Map(),
    inProcess: [],
    varEntries: [],
  };
  const blank = new Archive(store, ini, null, null, Buffer.alloc(0));
  return writeNewArchive(new ArchiveWriter(blank, null, now), ini, null);
}

describe('archive writes', () => {
  it('create an archive: archive.ini last of the root files, then the hard-link probe', async () => {
    const store = new RecordingStore();
    await newArchive(store);
    assert.deepEqual(store.take(), [
      'put archive.ini',
      'put archive.ini.bak',
      'put archive.dat',
      'remove .hardlink',
      'link archive.dat .hardlink',
    ]);
  });

  it('commit a session in the zipper order, innermost first, archive.ini last, then persist and the .bak copies', async () => {
    const store = new RecordingStore();
    const archive = await newArchive(store);
    store.take();
    const writer = new ArchiveWriter(archive, null, now);
    const staging = new SessionStaging(store, vid);
    await staging.clear();
    const chunk = staging.chunkPath(0);
    await staging.writeChunk(chunk, Buffer.from('not a real chunk, never read'));
    const transaction = new Transaction(writer, async () => void store.log.push('persist'));
    const infoHash = await transaction.stageSession(staging, session, {
      info: { localtime: '1', previous: null, permissions: 'w', volsize: CHUNK, sequence: 0, mfcs: null, tags: new Map() },
      manifest: Buffer.from('0 x0000000000000000\n'),
      chunkDirs: [chunk.slice(0, chunk.lastIndexOf('/'))],
    });
    await transaction.stageVolInfo(vid, { name: 'vm/root', desc: '', sessions: new Map([[session, infoHash]]) }, [session]);
    await transaction.commit();
    assert.deepEqual(store.take(), [
      'removeTree Vol_7b1cc7/S-tmp',
      'writeNew Vol_7b1cc7/S-tmp/000000000/x0000000000000000',
      'mkdir Vol_7b1cc7/S-tmp',
      'flush',
      'fsyncDir Vol_7b1cc7/S-tmp/000000000',
      'put Vol_7b1cc7/S-tmp/manifest.z',
      'put Vol_7b1cc7/S-tmp/info',
      'put Vol_7b1cc7/volinfo.tmp',
      'put Vol_7b1cc7/sessions.tmp',
      'put archive.ini.tmp',
      'rename Vol_7b1cc7/S-tmp Vol_7b1cc7/S_20261128-153704',
      'rename Vol_7b1cc7/sessions.tmp Vol_7b1cc7/sessions',
      'rename Vol_7b1cc7/volinfo.tmp Vol_7b1cc7/volinfo',
      'rename archive.ini.tmp archive.ini',
      'persist',
      'put archive.ini.bak',
      'put Vol_7b1cc7/volinfo.bak',
    ]);
    assert.equal((await store.read('Vol_7b1cc7/sessions', 1000)).toString(), '["S_20261128-153704"]');
    // The archive as written opens, and the chain reaches the session and its manifest.
    const reopened = await Archive.open(store, { passphrase: async () => Buffer.alloc(0), now: () => clock + 1 });
    const volume = await reopened.loadVolume(vid);
    assert.deepEqual(
      volume.sessions.map((s) => s.name),
      [session],
    );
    assert.equal((await reopened.loadManifest(vid, volume.sessions[0]!)).count, 1);
    assert.deepEqual(reopened.rootBytes, archive.rootBytes);
  });

  it('publish a root alone through archive.ini.tmp', async () => {
    const store = new RecordingStore();
    const archive = await newArchive(store);
    store.take();
    const writer = new ArchiveWriter(archive, null, now);
    await publishRoot(
      { writer, persist: async () => void store.log.push('persist') },
      writer.root({ ...archive.ini, uuid: 'c0ffee00-0000-4000-8000-000000000001' }),
    );
    assert.deepEqual(store.take(), ['put archive.ini.tmp', 'rename archive.ini.tmp archive.ini', 'persist', 'put archive.ini.bak']);
    assert.equal(archive.ini.uuid, 'c0ffee00-0000-4000-8000-000000000001');
  });

  it('delete a volume: the journaled root, the directory, the cleared journal', async () => {
    const store = new RecordingStore();
    const archive = await newArchive(store);
    const writer = new ArchiveWriter(archive, null, now);
    const write = { writer, persist: async () => void store.log.push('persist') };
    const transaction = new Transaction(writer, write.persist);
    await transaction.stageVolInfo(vid, { name: 'vm/root', desc: '', sessions: new Map() });
    await transaction.commit();
    store.take();
    await journalDelete(write, vid);
    assert.deepEqual(archive.ini.inProcess, ['delete', vid]);
    assert.equal(archive.ini.volumes.has(vid), false);
    await removeVolumeData(write, vid);
    assert.deepEqual(store.take(), [
      'put archive.ini',
      'persist',
      'put archive.ini.bak',
      'removeTree Vol_7b1cc7',
      'put archive.ini',
      'persist',
      'put archive.ini.bak',
    ]);
    assert.deepEqual(archive.ini.inProcess, []);
    assert.equal(await store.stat(vid), null);
  });
});
