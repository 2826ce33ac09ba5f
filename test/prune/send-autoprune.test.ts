// Autoprune from send: --autoprune=full thins every volume by the calendar before sending (CLI),
// and an incremental volume whose changes exceed the destination's free space asks for room
// before its chunks are read (engine, with a store that reports no free space).

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { SessionName } from '../../source-agent/archive/names.js';
import { autopruneMarks, localDate, parseApdays } from '../../source-agent/engine/prune/calendar.js';
import { type SendEvents, send } from '../../source-agent/engine/send/send.js';
import { prepareImport } from '../../source-agent/source/import-source.js';
import { LocalStore } from '../../source-agent/store/local-store.js';
import { scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { buildSessionArchive, CHUNK, restoreAll } from '../helpers/session-archive.js';
import { openArchive, writerFor } from '../helpers/write-context.js';

const scratch = scratchDir('skiff-send-autoprune-');
after(scratch.cleanup);
const quiet: SendEvents = { note() {}, warn() {}, sending() {}, volumeStart: () => ({ update() {} }), volumeEnd() {} };

async function sessionsByVolume(root: string): Promise<SessionName[][]> {
  const archive = await openArchive(new LocalStore(root));
  const out: SessionName[][] = [];
  for (const vid of archive.ini.volumes.keys()) out.push((await archive.loadVolume(vid)).sessions.map((s) => s.name));
  return out;
}

describe('send --autoprune', () => {
  it('full: the calendar prunes every volume before the send, and the data stays intact', async () => {
    const root = join(scratch.dir, 'full');
    mkdirSync(join(scratch.dir, 'src-full'));
    const plan = [];
    for (let d = 1; d <= 8; d++) plan.push({ volume: d % 2 ? 'a.img' : 'b.img', at: new Date(Date.UTC(2026, 9, d * 3, 12)) });
    plan.push({ volume: 'a.img', at: new Date(Date.UTC(2026, 9, 28, 12)) }, { volume: 'b.img', at: new Date(Date.UTC(2026, 9, 29, 12)) });
    await buildSessionArchive(root, join(scratch.dir, 'src-full'), plan);
    const before = await restoreAll(new LocalStore(root));
    const volumes = await sessionsByVolume(root);
    const expectedGone = new Set<string>();
    for (const volume of volumes) {
      const marks = autopruneMarks({
        mode: 'full',
        apdays: parseApdays('5:0:1:1'),
        today: localDate(new Date()),
        volumes,
        volume,
        metadata: false,
      });
      for (const name of marks) expectedGone.add(name);
    }
    assert.ok(expectedGone.size >= 4, 'sessions older than 5 days are marked');

    const fresh = join(scratch.dir, 'fresh.img');
    writeFileSync(fresh, Buffer.alloc(CHUNK * 2, 7));
    const result = await runSkiffInProcess([
      'send',
      `--import-other-from=c.img:|:${fresh}`,
      '--autoprune=full',
      '--apdays=5:0:1:1',
      `--dest=file:${root}`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const after = await restoreAll(new LocalStore(root));
    for (const [key, bytes] of before) {
      const session = key.split('@')[1] as string;
      if (expectedGone.has(session)) assert.ok(!after.has(key), `${key} was pruned`);
      else assert.ok(after.get(key)?.equals(bytes), `${key} restores byte-identical`);
    }
    assert.ok(
      [...after.keys()].some((k) => k.startsWith('c.img@')),
      'the new volume was sent',
    );
    const check = await runSkiffInProcess(['arch-check', `--dest=file:${root}`]);
    assert.equal(check.code, 0, check.stderr);
  });

  it('full from the config file honours keep (config or command line): a kept session survives the autoprune', async () => {
    const root = join(scratch.dir, 'keep');
    mkdirSync(join(scratch.dir, 'src-keep'));
    const days = [1, 2, 3, 4, 5, 28];
    await buildSessionArchive(
      root,
      join(scratch.dir, 'src-keep'),
      days.map((d) => ({ volume: 'a.img', at: new Date(Date.UTC(2026, 9, d, 12)) })),
    );
    const config = join(scratch.dir, 'keep.ini');
    writeFileSync(config, '[var-global-default]\nautoprune = full\napdays = 5:0:1:1\nkeep = 20261002-120000\n');
    const fresh = join(scratch.dir, 'keep-fresh.img');
    writeFileSync(fresh, Buffer.alloc(CHUNK, 3));
    const result = await runSkiffInProcess([
      'send',
      `--config=${config}`,
      '--keep=20261004-120000',
      `--import-other-from=c.img:|:${fresh}`,
      `--dest=file:${root}`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const left = (await sessionsByVolume(root)).find((names) => names.includes('S_20261028-120000' as SessionName));
    assert.deepEqual(left, ['S_20261002-120000', 'S_20261004-120000', 'S_20261028-120000']);
  });

  it('a config item the command cannot use is reported with --verbose, one line each', async () => {
    const root = join(scratch.dir, 'keep');
    const config = join(scratch.dir, 'unused.ini');
    writeFileSync(config, '[var-global-default]\nkeep = 20261002-120000\nautoprune = full\n');
    const quietRun = await runSkiffInProcess(['list', `--config=${config}`, `--dest=file:${root}`]);
    assert.equal(quietRun.code, 0, quietRun.stderr);
    assert.equal(quietRun.stderr, '');
    const verbose = await runSkiffInProcess(['list', '--verbose', `--config=${config}`, `--dest=file:${root}`]);
    assert.equal(verbose.code, 0, verbose.stderr);
    assert.deepEqual(
      verbose.stderr.split('\n').filter((l) => l.startsWith('Config item')),
      ['Config item not used by list: keep', 'Config item not used by list: autoprune'],
    );
  });

  it('a bad --autoprune or --apdays stops send before anything is written (exit 9)', async () => {
    const root = join(scratch.dir, 'bad');
    mkdirSync(join(scratch.dir, 'src-bad'));
    await buildSessionArchive(root, join(scratch.dir, 'src-bad'), [{ volume: 'a.img', at: new Date(Date.UTC(2026, 9, 1, 12)) }]);
    const source = join(scratch.dir, 'bad.img');
    writeFileSync(source, Buffer.alloc(CHUNK, 1));
    for (const option of ['--autoprune=maybe', '--apdays=1:2:3']) {
      const result = await runSkiffInProcess([
        'send',
        `--import-other-from=a.img:|:${source}`,
        '--autoprune=on',
        option,
        `--dest=file:${root}`,
      ]);
      assert.equal(result.code, 9, result.stderr);
      assert.equal((await sessionsByVolume(root))[0]?.length, 1);
    }
  });

  it('on: a volume whose changes exceed the free space asks for room before its chunks are read', async () => {
    const root = join(scratch.dir, 'room');
    mkdirSync(join(scratch.dir, 'src-room'));
    await buildSessionArchive(root, join(scratch.dir, 'src-room'), [
      { volume: 'a.img', at: new Date(Date.UTC(2026, 9, 1, 12)) },
      { volume: 'a.img', at: new Date(Date.UTC(2026, 9, 2, 12)) },
    ]);
    const store = new LocalStore(root);
    store.freeSpace = async () => 0; // a full destination
    const archive = await openArchive(store);
    const source = join(scratch.dir, 'room.img');
    const sessions = await restoreAll(new LocalStore(root));
    writeFileSync(source, sessions.get([...sessions.keys()].sort().at(-1) as string) as Buffer);
    const calls: { name: string; needed: number }[] = [];
    const changed = new Uint8Array(8);
    changed[3] = 1;
    changed[5] = 1;
    const reports = await send(
      {
        writer: writerFor(archive),
        volumes: [
          {
            name: 'a.img',
            // An incremental source: the change map says which chunks may differ.
            prepare: async () => ({ ...(await prepareImport(source)), changed, alwaysSession: false }),
          },
        ],
        tags: new Map(),
        sendUnchanged: true,
        dryRun: false,
        startedAt: new Date(Date.UTC(2026, 9, 3, 12)),
        makeRoom: async (volume, needed) => void calls.push({ name: volume.name, needed }),
      },
      quiet,
    );
    assert.equal(reports[0]?.outcome, 'sent');
    assert.deepEqual(calls, [{ name: 'a.img', needed: 2 * CHUNK }]);
    const restored = await restoreAll(new LocalStore(root));
    const newest = [...restored.keys()].sort().at(-1) as string;
    assert.ok(restored.get(newest)?.equals(readFileSync(source)), 'the session sent after making room restores as the source');
  });
});
