// A send interrupted at every changing store operation (a store that dies there: chunk writes,
// manifest, info, volinfo, sessions and archive.ini puts, each rename of the commit, the .bak
// copies), for a new volume and for an incremental session of an existing one. After each, the
// next write's recovery runs from the destination alone: the archive loads, arch-check passes,
// every session complete before restores byte-identical, and the send can be repeated.

import assert from 'node:assert/strict';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Archive } from '../../source-agent/archive/archive.js';
import { archCheck } from '../../source-agent/engine/maintain/arch-check.js';
import { recoverInterruptedWrites } from '../../source-agent/engine/maintain/recover.js';
import { LocalStore } from '../../source-agent/store/local-store.js';
import { scratchDir } from '../helpers/cli.js';
import { FailingStore } from '../helpers/failing-store.js';
import { buildSessionArchive, CHUNK, restoreAll } from '../helpers/session-archive.js';
import { keystream, makeVolume, writeAt } from '../helpers/volumes.js';
import { openArchive, openWriteContext, sendImportAt, silentOutput } from '../helpers/write-context.js';

const scratch = scratchDir('skiff-send-faults-');
after(scratch.cleanup);
const base = join(scratch.dir, 'base');
let images = new Map<string, Buffer>();

before(async () => {
  mkdirSync(join(scratch.dir, 'src'));
  await buildSessionArchive(base, join(scratch.dir, 'src'), [
    { volume: 'a.img', at: new Date(Date.UTC(2026, 10, 1, 12)) },
    { volume: 'a.img', at: new Date(Date.UTC(2026, 10, 2, 12)) },
  ]);
  images = await restoreAll(new LocalStore(base));
});

/** The send every case makes, a session on 2026-11-03. */
function sendOne(archive: Archive, name: string, source: string): Promise<void> {
  return sendImportAt(archive, name, source, new Date(Date.UTC(2026, 10, 3, 12)));
}

describe('send interrupted at every store operation', () => {
  const sources: Record<string, () => string> = {
    'a new volume': () => {
      const path = join(scratch.dir, 'new.img');
      writeFileSync(path, makeVolume('new', CHUNK, 6, 77));
      return path;
    },
    'an incremental session': () => {
      const path = join(scratch.dir, 'a-next.img');
      writeFileSync(
        path,
        images.get(
          [...images.keys()]
            .filter((k) => k.startsWith('a.img@'))
            .sort()
            .at(-1) as string,
        ) as Buffer,
      );
      writeAt(path, CHUNK * 2, keystream('next', CHUNK + 10));
      return path;
    },
  };
  for (const [title, makeSource] of Object.entries(sources)) {
    it(title, async (t) => {
      const source = makeSource();
      const name = title === 'a new volume' ? 'new.img' : 'a.img';
      const counting = join(scratch.dir, `count-${name}`);
      cpSync(base, counting, { recursive: true });
      const counter = new FailingStore(new LocalStore(counting));
      await sendOne(await openArchive(counter), name, source);
      const total = counter.count;
      let published = 0;
      for (let k = 1; k <= total; k++) {
        const root = join(scratch.dir, `fault-${name}-${k}`);
        cpSync(base, root, { recursive: true });
        const failing = new FailingStore(new LocalStore(root), k);
        await assert.rejects(sendOne(await openArchive(failing), name, source));
        const ctx = await openWriteContext(new LocalStore(root), join(scratch.dir, `state-${name}-${k}`));
        await recoverInterruptedWrites(ctx, silentOutput);
        const restored = await restoreAll(new LocalStore(root));
        for (const [key, bytes] of images) assert.ok(restored.get(key)?.equals(bytes), `${key} restores after a fault at ${k}`);
        if (restored.size > images.size) published++;
        assert.deepEqual(await archCheck(ctx.archive, { names: null, session: null }, silentOutput), []);
        // The send can be repeated, and its session restores as the source.
        await sendOne(ctx.archive, name, source);
        const after = await restoreAll(new LocalStore(root));
        const newest = [...after.keys()]
          .filter((key) => key.startsWith(`${name}@`))
          .sort()
          .at(-1) as string;
        assert.ok(after.get(newest)?.equals(await import('node:fs').then((fs) => fs.readFileSync(source))));
        rmSync(root, { recursive: true, force: true });
      }
      t.diagnostic(`${total} fault points; the session was published by recovery after ${published} of them`);
    });
  }
});
