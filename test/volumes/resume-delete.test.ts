// resumeDelete on the intermediate states an interrupted delete can leave — Skiff's and Wyng's
// (format spec §13.3: the journal written with the vid still listed; the vid already dropped;
// the volume directory partly or wholly removed), made by hand with Wyng's habit of keeping
// updated_at while [in_process] is set. Recovery must finish the delete from the destination
// alone, by the engine and by the next write command of the CLI.

import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ArchiveIni, formatArchiveIniText, formatHeader, gzipBody } from '../../source-agent/archive/archive-ini.js';
import { CIPHER_MODES } from '../../source-agent/archive/crypto/cipher-modes.js';
import { parseJournal } from '../../source-agent/archive/journal.js';
import type { VolumeId } from '../../source-agent/archive/names.js';
import { archCheck } from '../../source-agent/engine/maintain/arch-check.js';
import { createArchive } from '../../source-agent/engine/maintain/arch-init.js';
import { recoverInterruptedWrites } from '../../source-agent/engine/maintain/recover.js';
import { type SendEvents, send } from '../../source-agent/engine/send/send.js';
import { prepareImport } from '../../source-agent/source/import-source.js';
import { LocalStore } from '../../source-agent/store/local-store.js';
import { runSkiff } from '../helpers/cli.js';
import { FailingStore, InjectedFault } from '../helpers/failing-store.js';
import { recordingOutput, silentOutput, writeContextFor, writerFor } from '../helpers/write-context.js';
import { openArchive, restoreAll, volumeNames, writeSources } from './archive-fixture.js';

const work = mkdtempSync(join(tmpdir(), 'skiff-resume-delete-'));
after(() => rmSync(work, { recursive: true, force: true }));
const quiet: SendEvents = { note() {}, warn() {}, sending() {}, volumeStart: () => ({ update() {} }), volumeEnd() {} };
const now = () => Date.now() / 1000;
const base = join(work, 'base');

/** archive.ini as Wyng writes it mid-delete: same updated_at, the journal set (unencrypted). */
function writeWyngRoot(dir: string, ini: ArchiveIni): void {
  writeFileSync(join(dir, 'archive.ini'), Buffer.concat([formatHeader(ini.mode), gzipBody(formatArchiveIniText(ini))]));
}

type Step = 'listed' | 'dropped' | 'partly-removed' | 'removed';

async function wyngState(name: string, step: Step): Promise<{ dir: string; vid: VolumeId; updatedAt: string }> {
  const dir = join(work, name);
  cpSync(base, dir, { recursive: true });
  const archive = await openArchive(new LocalStore(dir), null);
  const vid = (await volumeNames(archive)).get('a.img') as VolumeId;
  const volumes = new Map(archive.ini.volumes);
  if (step !== 'listed') volumes.delete(vid);
  writeWyngRoot(dir, { ...archive.ini, volumes, inProcess: ['delete', vid] });
  if (step === 'partly-removed') {
    rmSync(join(dir, vid, 'volinfo'));
    const [session] = (await archive.readVolInfo(vid)).sessions.keys();
    rmSync(join(dir, vid, session as string), { recursive: true });
  }
  if (step === 'removed') rmSync(join(dir, vid), { recursive: true });
  return { dir, vid, updatedAt: archive.ini.updatedAt };
}

let expected: Map<string, Buffer[]>;

before(async () => {
  const sources = writeSources(work, 65536);
  await createArchive(new LocalStore(base), {
    mode: CIPHER_MODES['00'],
    compression: 'zlib',
    level: 4,
    chunkSize: 65536,
    passphrase: async () => Buffer.alloc(0),
    now,
  });
  const archive = await openArchive(new LocalStore(base), null);
  await send(
    {
      writer: writerFor(archive),
      volumes: [
        { name: 'a.img', prepare: () => prepareImport(sources.a1) },
        { name: 'b.img', prepare: () => prepareImport(sources.b) },
      ],
      tags: new Map(),
      sendUnchanged: false,
      dryRun: false,
      startedAt: new Date(Date.UTC(2026, 10, 28, 10, 0, 0)),
    },
    quiet,
  );
  expected = await restoreAll(await openArchive(new LocalStore(base), null));
});

async function assertDeleted(dir: string, vid: VolumeId, updatedAt: string): Promise<void> {
  const archive = await openArchive(new LocalStore(dir), null);
  assert.equal(parseJournal(archive.ini), null, 'journal cleared');
  assert.ok(!archive.ini.volumes.has(vid), 'vid no longer listed');
  assert.ok(!existsSync(join(dir, vid)), 'volume directory removed');
  assert.ok(Number(archive.ini.updatedAt) > Number(updatedAt), 'a newer root');
  assert.deepEqual(await archCheck(archive, { names: null, session: null }, silentOutput), []);
  const restored = await restoreAll(archive);
  assert.deepEqual(
    [...restored.keys()].filter((name) => name !== 'x.img'),
    ['b.img'],
  );
  for (const [i, image] of (restored.get('b.img') as Buffer[]).entries())
    assert.ok(image.equals((expected.get('b.img') as Buffer[])[i] as Buffer));
}

describe('resumeDelete completes every intermediate state of a delete', () => {
  for (const step of ['listed', 'dropped', 'partly-removed', 'removed'] as const) {
    it(`journal set, vid ${step}`, async () => {
      const { dir, vid, updatedAt } = await wyngState(`engine-${step}`, step);
      const out = recordingOutput();
      const archive = await openArchive(new LocalStore(dir), null);
      await recoverInterruptedWrites(await writeContextFor(archive, join(work, `state-${step}`)), out);
      assert.ok(out.lines.includes('Completing prior operation in progress.'));
      await assertDeleted(dir, vid, updatedAt);
    });
  }

  it('a failed completion is retried only with --force-retry, then completes', async () => {
    const { dir, vid, updatedAt } = await wyngState('retry', 'listed');
    const stateDir = join(work, 'state-retry');
    const failing = new FailingStore(new LocalStore(dir), 2);
    await assert.rejects(
      recoverInterruptedWrites(await writeContextFor(await openArchive(failing, null), stateDir), silentOutput),
      InjectedFault,
    );
    const again = await writeContextFor(await openArchive(new LocalStore(dir), null), stateDir);
    await assert.rejects(recoverInterruptedWrites(again, silentOutput), /already retried/);
    const forced = await writeContextFor(await openArchive(new LocalStore(dir), null), stateDir, true);
    await recoverInterruptedWrites(forced, silentOutput);
    await assertDeleted(dir, vid, updatedAt);
  });

  it('the next write command of the CLI completes a Wyng-interrupted delete first', async () => {
    const { dir, vid, updatedAt } = await wyngState('cli', 'dropped');
    const result = await runSkiff(['add', 'x.img', `--dest=file:${dir}`, `--meta-dir=${join(work, 'meta-cli')}`]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`\\*\\* Prior operation in progress: delete ${vid}`));
    assert.match(result.stdout, /Completing prior operation in progress\./);
    const archive = await openArchive(new LocalStore(dir), null);
    assert.ok((await volumeNames(archive)).has('x.img'));
    await assertDeleted(dir, vid, updatedAt);
  });
});
