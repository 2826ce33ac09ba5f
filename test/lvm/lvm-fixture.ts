// Shared set-up of the LVM send tests: a thin-pool model (the kernel side is modelled; see
// test/lvm-model/README.md) with a pool, an unencrypted archive, skiff run in this process with
// the model's stand-ins first on its PATH, and the expected contents of each volume kept beside
// the model's, so every session can be compared byte for byte after a restore.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { LocalStore } from '../../source-agent/store/local-store.js';
import type { CliResult } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { restoreEverySession } from '../helpers/restore-all.js';
import { requireSystem } from '../helpers/system.js';
import { LVM_MODEL_TOOLS, type LvmModel, startLvmModel, uniqueVgName } from '../lvm-model/harness.js';
import type { ThinLv } from '../lvm-model/state.js';
import { openArchive } from '../volumes/archive-fixture.js';

export const MiB = 1024 * 1024;
/** The pool's block size (LVM's default thin-pool chunk): archive chunks are twice that (chunk-factor 2). */
export const BLOCK = 64 * 1024;
export const CHUNK = 128 * 1024;

export interface LvmSendBed {
  m: LvmModel;
  vg: string;
  local: string;
  work: string;
  archiveDir: string;
  /** What each volume holds now (kept in step with every write made through the model). */
  expected: Map<string, Buffer>;
  /** skiff in this process with the model's env (and `env` on top). */
  skiff(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult>;
  send(names: string[], extra?: string[], env?: NodeJS.ProcessEnv): Promise<CliResult>;
  createVolume(name: string, size: number): void;
  write(name: string, offset: number, data: Buffer): void;
  resize(name: string, size: number): void;
  lv(name: string): ThinLv | undefined;
  /** Volume name → its session directories' chunk file counts, oldest first. */
  chunkCounts(): Promise<Map<string, number[]>>;
  /** Asserts every session of every volume restores to what `history` says it held. */
  assertSessions(history: Map<string, Buffer[]>): Promise<void>;
}

export async function withLvmSendBed(t: TestContext, fn: (bed: LvmSendBed) => Promise<void>): Promise<void> {
  if (!requireSystem(t, LVM_MODEL_TOOLS)) return;
  const work = mkdtempSync(join(tmpdir(), 'skiff-lvm-send-'));
  const m = startLvmModel(work);
  const vg = `${uniqueVgName('skiff')}-vg`;
  const local = `${vg}/vm-pool`;
  const archiveDir = join(work, 'archive');
  const common = [`--dest=file:${archiveDir}`, `--meta-dir=${join(work, 'meta')}`];
  const expected = new Map<string, Buffer>();
  const skiff = (args: string[], env: NodeJS.ProcessEnv = {}) => runSkiffInProcess([...args, ...common], { env: { ...m.env, ...env } });
  const bed: LvmSendBed = {
    m,
    vg,
    local,
    work,
    archiveDir,
    expected,
    skiff,
    send: (names, extra = [], env = {}) => skiff(['send', ...names, `--local=${local}`, ...extra], env),
    createVolume(name, size) {
      m.run('lvm', ['lvcreate', '-V', `${size}b`, '--thin', '-n', name, local]);
      const data = randomBytes(size);
      m.writeMany(`${vg}/${name}`, [{ offset: 0, data }]);
      expected.set(name, data);
    },
    write(name, offset, data) {
      m.write(`${vg}/${name}`, offset, data);
      data.copy(expected.get(name) as Buffer, offset);
    },
    resize(name, size) {
      m.run('lvm', ['lvresize', '-f', '-L', `${size}b`, `${vg}/${name}`]);
      const old = expected.get(name) as Buffer;
      const next = Buffer.alloc(size);
      old.copy(next, 0, 0, Math.min(size, old.length));
      expected.set(name, next);
    },
    lv: (name) => {
      const lv = m.state().vgs[vg]?.lvs[name];
      return lv?.kind === 'thin' ? lv : undefined;
    },
    async chunkCounts() {
      const archive = await openArchive(new LocalStore(archiveDir), null);
      const out = new Map<string, number[]>();
      for (const vid of archive.ini.volumes.keys()) {
        const volume = await archive.loadVolume(vid);
        out.set(
          volume.name,
          volume.sessions.map((s) => countChunkFiles(join(archiveDir, vid, s.name))),
        );
      }
      return out;
    },
    async assertSessions(history) {
      const restored = await restoreEverySession(await openArchive(new LocalStore(archiveDir), null));
      for (const [name, images] of history) {
        const sessions = restored.get(name) ?? [];
        assert.equal(sessions.length, images.length, `${name}: sessions`);
        sessions.forEach((s, i) => {
          assert.ok(s.bytes.equals(images[i] as Buffer), `${name} session ${i} (${s.name}) restores byte-identical`);
        });
      }
    },
  };
  try {
    m.run('lvm', ['vgcreate', vg, '/dev/model-pv']);
    m.run('lvm', ['lvcreate', '--type', 'thin-pool', '-L', '128m', '-n', 'vm-pool', vg]);
    const init = await skiff(['arch-init', '--encrypt=off', '--chunk-factor=2']);
    assert.equal(init.code, 0, init.stderr);
    await fn(bed);
  } finally {
    m.close();
    rmSync(work, { recursive: true, force: true });
  }
}

function countChunkFiles(dir: string): number {
  let n = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (entry.isFile() && /^x[0-9a-f]{16}$/.test(entry.name)) n++;
  return n;
}

/** Asserts a run's exit code, showing its output when it differs. */
export function assertCode(result: CliResult, code: number): void {
  assert.equal(result.code, code, `exit ${result.code}\n${result.stdout}\n${result.stderr}`);
}
