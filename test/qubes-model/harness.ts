// Starts the Qubes model for a test: an LVM thin-pool model with one VG and pool `vm-pool`, the
// seed qubes.xml (qubes.xml here) with that VG, the model's qubesd listening on a socket in the
// work directory, and the environment skiff-qubes needs to use them (SKIFF_QUBESD_SOCKET,
// SKIFF_QUBES_DIR, SKIFF_QUBES_OS_RELEASE, the LVM stand-ins first on PATH, and stand-ins for
// `sudo`, `qvm-appmenus` and `qvm-sync-appmenus` that record their command lines in
// `toolLog`). Qubes is modelled: see README.md.

import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AdminClient } from '../../source-agent/qubes/admin-client.js';
import { runQubesCli } from '../../source-agent/qubes/run.js';
import { inProcessSkiff } from '../../source-agent/qubes/skiff-backend.js';
import { hermetic } from '../helpers/cli.js';
import { requireSystem } from '../helpers/system.js';
import { LVM_MODEL_TOOLS, type LvmModel, startLvmModel, uniqueVgName } from '../lvm-model/harness.js';
import { QubesModel } from './model.js';

export const QUBES_MODEL_TOOLS = LVM_MODEL_TOOLS;

const SEED = fileURLToPath(new URL('../../../test/qubes-model/qubes.xml', import.meta.url));

export interface QubesHostModel {
  model: QubesModel;
  lvm: LvmModel;
  vg: string;
  admin: AdminClient;
  /** For skiff-qubes: the socket, /var/lib/qubes, and the LVM stand-ins on PATH. */
  env: NodeJS.ProcessEnv;
  lvPath(lv: string): string;
  /** The command lines the dom0 tool stand-ins were run with, one a line (`sudo -u #1000 qvm-appmenus --update work`). */
  toolLog: string;
  close(): Promise<void>;
}

export interface QubesModelSizes {
  /** Bytes of each private volume (default 4 MiB). */
  privateSize?: number;
  /** Bytes of each root volume (default 8 MiB). */
  rootSize?: number;
  /** VMs whose volumes get thin LVs (default: work, personal and their templates). */
  withVolumes?: readonly string[];
  /** The Qubes release modelled (its /etc/os-release and device API); default 4.3. */
  qubesVersion?: '4.2' | '4.3';
}

/**
 * Stand-ins for the dom0 tools restore runs after a VM is restored: `sudo` (records its words,
 * drops `-u USER`, runs the rest with this PATH) and the two appmenus tools (record, then exit 1,
 * as the real ones do where a VM has no menu: skiff-qubes must carry on).
 */
function writeToolStandIns(dir: string, log: string): void {
  mkdirSync(dir, { recursive: true });
  const record = `printf '%s\\n' "$(basename "$0") $*" >> '${log}'`;
  writeFileSync(join(dir, 'sudo'), `#!/bin/sh\n${record}\n[ "$1" = -u ] && shift 2\nexec "$@"\n`, { mode: 0o755 });
  for (const tool of ['qvm-appmenus', 'qvm-sync-appmenus'])
    writeFileSync(join(dir, tool), `#!/bin/sh\n${record}\nexit 1\n`, { mode: 0o755 });
  writeFileSync(log, '');
}

export async function startQubesModel(workDir: string, sizes: QubesModelSizes = {}): Promise<QubesHostModel> {
  const lvm = startLvmModel(workDir);
  const vg = uniqueVgName('skiffqubes');
  lvm.run('lvm', ['vgcreate', vg, '/dev/model-pv']);
  lvm.run('lvm', ['lvcreate', '--type', 'thin-pool', '-L', '512m', '-n', 'vm-pool', vg]);
  const seedXml = readFileSync(SEED, 'utf8')
    .replaceAll('@VG@', vg)
    .replaceAll('@PRIVATE@', String(sizes.privateSize ?? 4 * 1024 * 1024))
    .replaceAll('@ROOT@', String(sizes.rootSize ?? 8 * 1024 * 1024));
  const socketPath = join(workDir, 'qubesd.sock');
  const varDir = join(workDir, 'var-lib-qubes');
  const model = new QubesModel({
    seedXml,
    lvm,
    varDir,
    socketPath,
    withVolumes: sizes.withVolumes ?? ['work', 'personal', 'fedora-41-xfce', 'debian-12-xfce'],
    qubesVersion: sizes.qubesVersion ?? '4.3',
  });
  await model.listen();
  const toolDir = join(workDir, 'dom0-tools');
  const toolLog = join(workDir, 'dom0-tools.log');
  writeToolStandIns(toolDir, toolLog);
  const osRelease = join(workDir, 'os-release');
  writeFileSync(osRelease, `NAME=Qubes\nVERSION_ID=${sizes.qubesVersion ?? '4.3'}\n`);
  return {
    model,
    lvm,
    vg,
    admin: new AdminClient(socketPath),
    env: {
      ...lvm.env,
      PATH: `${toolDir}:${lvm.env['PATH']}`,
      SKIFF_QUBESD_SOCKET: socketPath,
      SKIFF_QUBES_DIR: varDir,
      SKIFF_QUBES_OS_RELEASE: osRelease,
    },
    lvPath: (lv) => `/dev/${vg}/${lv}`,
    get toolLog() {
      return readFileSync(toolLog, 'utf8');
    },
    close: async () => {
      await model.close();
      try {
        for (const extra of model.extraVgs) lvm.run('lvm', ['vgremove', '-f', extra]);
        lvm.run('lvm', ['vgremove', '-f', vg]);
      } finally {
        lvm.close();
      }
    },
  };
}

/** The started model for a test, or null (test skipped) when its tools or root are missing. */
export function modelReady(t: TestContext, host: QubesHostModel | null): QubesHostModel | null {
  if (!requireSystem(t, QUBES_MODEL_TOOLS)) return null;
  assert.ok(host, 'the model started');
  return host;
}

export interface QubesCliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface QubesCliAt {
  dest: string;
  host: QubesHostModel | null;
  cwd: string;
  /** Run without -u, stdin a terminal (isTTY) that reads this text then ends: skiff-qubes asks its questions. */
  answers?: string;
  /** Every skiff command line skiff-qubes runs is appended here. */
  skiffCalls?: string[][];
}

/** Runs skiff-qubes in this process against the model, unencrypted archive at `dest`, TZ=UTC; `-u` unless `answers`. */
export async function runSkiffQubes(args: readonly string[], at: QubesCliAt): Promise<QubesCliResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const sink = (into: Buffer[]) =>
    new Writable({
      write(chunk: Buffer | string, _e, done) {
        into.push(Buffer.from(chunk));
        done();
      },
    });
  const stdin = new PassThrough();
  if (at.answers !== undefined) Object.assign(stdin, { isTTY: true });
  stdin.end(at.answers ?? '');
  const context = {
    stdin,
    stdout: sink(out),
    stderr: sink(err),
    env: { ...process.env, ...at.host?.env, TZ: 'UTC' },
    colorDepth: 1,
    cwd: at.cwd,
    signal: new AbortController().signal,
    now: () => Date.now() / 1000,
  };
  const calls = at.skiffCalls;
  const skiff = calls ? inProcessSkiff(context, (skiffArgs) => calls.push([...skiffArgs])) : undefined;
  const words = [...args, `--dest=file:${at.dest}`, ...(at.answers === undefined ? ['-u'] : [])];
  const code = await runQubesCli(hermetic(words), context, skiff);
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

/** The first `length` bytes of a thin LV of the model. */
export function readLv(h: QubesHostModel, lv: string, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const fd = openSync(h.lvPath(lv), 'r');
  try {
    readSync(fd, buffer, 0, length, 0);
  } finally {
    closeSync(fd);
  }
  return buffer;
}
