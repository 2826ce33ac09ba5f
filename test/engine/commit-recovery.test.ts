// A commit interrupted after each of its renames (a store that stops part-way through the rename
// batch), then recovered from the destination alone: before the volinfo rename the new session
// is rolled back; after it, the commit is completed. Either way the archive loads, every earlier
// session restores, and a later send works.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Archive } from '../../source-agent/archive/archive.js';
import { ArchiveWriter } from '../../source-agent/archive/archive-writer.js';
import { CIPHER_MODES } from '../../source-agent/archive/crypto/cipher-modes.js';
import { createArchive } from '../../source-agent/engine/maintain/arch-init.js';
import { recoverInterruptedWrites } from '../../source-agent/engine/maintain/recover.js';
import { planRestore, readChunks } from '../../source-agent/engine/restore/restore-stream.js';
import { type SendEvents, send } from '../../source-agent/engine/send/send.js';
import { prepareImport } from '../../source-agent/source/import-source.js';
import { LocalStore } from '../../source-agent/store/local-store.js';
import type { Store } from '../../source-agent/store/store.js';
import { keystream, makeVolume, writeAt } from '../helpers/volumes.js';
import { silentOutput, writeContextFor } from '../helpers/write-context.js';

const dir = mkdtempSync(join(tmpdir(), 'skiff-recovery-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A LocalStore whose next rename batch stops after `renames` renames, as if killed there. */
class InterruptingStore extends LocalStore {
  interruptAfter: number | null = null;
  override async renameBatch(pairs: readonly (readonly [string, string])[]): Promise<void> {
    if (this.interruptAfter === null) return super.renameBatch(pairs);
    const done = pairs.slice(0, this.interruptAfter);
    this.interruptAfter = null;
    if (done.length > 0) await super.renameBatch(done);
    throw new Error('interrupted');
  }
}

const quiet: SendEvents = {
  note() {},
  warn() {},
  sending() {},
  volumeStart: () => ({ update() {} }),
  volumeEnd() {},
};
const now = () => Date.now() / 1000;

async function sendFile(archive: Archive, source: string, at: Date): Promise<void> {
  await send(
    {
      writer: new ArchiveWriter(archive, null, now),
      volumes: [{ name: 'v.img', prepare: () => prepareImport(source) }],
      tags: new Map(),
      sendUnchanged: false,
      dryRun: false,
      startedAt: at,
    },
    quiet,
  );
}

async function restore(store: Store, index: number): Promise<Buffer> {
  const archive = await Archive.open(store, { passphrase: async () => Buffer.alloc(0) });
  const [vid] = archive.ini.volumes.keys();
  const volume = await archive.loadVolume(vid as never);
  const plan = await planRestore(archive, volume, index);
  const out = Buffer.alloc(plan.session.info.volsize);
  for await (const chunk of readChunks(archive, plan.chunks)) if (chunk.data) chunk.data.copy(out, chunk.address);
  return out;
}

describe('interrupted commit recovery', () => {
  for (const renames of [0, 1, 2, 3]) {
    it(`after ${renames} of the 4 commit renames`, async () => {
      const root = join(dir, `r${renames}`);
      const store = new InterruptingStore(root);
      const archive = await createArchive(store, {
        mode: CIPHER_MODES['00'],
        compression: 'zstd',
        level: 3,
        chunkSize: 65536,
        passphrase: async () => Buffer.alloc(0),
        now,
      });
      const source = join(dir, `v${renames}.img`);
      writeFileSync(source, makeVolume('recovery', 65536, 12));
      const first = Buffer.from(makeVolume('recovery', 65536, 12));
      await sendFile(archive, source, new Date(Date.UTC(2026, 10, 28, 12, 0, 0)));
      writeAt(source, 65536 * 4, keystream('second', 1000));

      store.interruptAfter = renames;
      await assert.rejects(sendFile(archive, source, new Date(Date.UTC(2026, 10, 28, 12, 0, 5))), /interrupted/);

      const reopened = await Archive.open(new LocalStore(root), { passphrase: async () => Buffer.alloc(0) });
      await recoverInterruptedWrites(await writeContextFor(reopened, join(dir, `state${renames}`)), silentOutput);
      const [vid] = reopened.ini.volumes.keys();
      const volume = await reopened.loadVolume(vid as never);
      // renames: S-tmp → S_name, sessions, volinfo, archive.ini. Once volinfo is renamed the
      // new root (archive.ini.tmp) is complete and recovery publishes it.
      assert.equal(volume.sessions.length, renames >= 3 ? 2 : 1);
      assert.ok((await restore(new LocalStore(root), 0)).equals(first), 'the first session still restores');
      if (renames >= 3)
        assert.ok(
          (await restore(new LocalStore(root), 1)).equals(Buffer.from(await import('node:fs').then((fs) => fs.readFileSync(source)))),
        );

      // The next send works and its session restores.
      writeAt(source, 65536 * 7, keystream('third', 1000));
      await sendFile(reopened, source, new Date(Date.UTC(2026, 10, 28, 12, 0, 10)));
      const sessions = (await reopened.loadVolume(vid as never)).sessions.length;
      const latest = await restore(new LocalStore(root), sessions - 1);
      assert.ok(latest.equals(await import('node:fs').then((fs) => fs.readFileSync(source))));
    });
  }
});
