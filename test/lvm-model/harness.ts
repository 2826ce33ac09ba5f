// Test support for the LVM thin-pool model: a state directory, the model's stand-in commands
// (test/lvm-model/bin: lvm, dmsetup, thin_delta, lvm-model) first on PATH, and teardown of every loop
// device and /dev link the model made. The kernel side (dm-thin) is modelled; the real
// thin_restore/thin_delta from thin-provisioning-tools do the metadata.

import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelDiscard, modelTeardown, modelWrite, modelWriteMany } from './model.js';
import { type ModelState, readState } from './state.js';

/** What the model's tests need on the machine (besides root, for loop devices). */
export const LVM_MODEL_TOOLS = ['thin_delta', 'thin_restore', 'losetup', 'cp'] as const;

/** The stand-ins are sh scripts in the source tree (dist/test would run any .js as a test file). */
export const LVM_MODEL_BIN = fileURLToPath(new URL('../../../test/lvm-model/bin', import.meta.url));

export interface LvmModel {
  dir: string;
  bin: string;
  /** process.env with the stand-ins first on PATH and SKIFF_LVM_MODEL_DIR set. */
  env: NodeJS.ProcessEnv;
  /** Runs a stand-in (or anything on the model's PATH); throws with its stderr on failure. */
  run(command: string, args: readonly string[], extraEnv?: NodeJS.ProcessEnv): string;
  write(lv: string, offset: number, data: Uint8Array): void;
  writeMany(lv: string, writes: readonly { offset: number; data: Uint8Array }[]): void;
  discard(lv: string, offset: number, length: number): void;
  state(): ModelState;
  /** Detaches loop devices and removes /dev/VG links. */
  close(): void;
}

/** A VG name no other test (or engineer on this machine) uses at the same time. */
export function uniqueVgName(prefix = 'skiffvg'): string {
  return `${prefix}${process.pid}x${Math.floor(Math.random() * 1e6)}`;
}

export function startLvmModel(workDir: string): LvmModel {
  const dir = join(workDir, 'lvm-model');
  const bin = LVM_MODEL_BIN;
  mkdirSync(dir, { recursive: true });
  const env = { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}`, SKIFF_LVM_MODEL_DIR: dir };
  return {
    dir,
    bin,
    env,
    run: (command, args, extraEnv = {}) =>
      execFileSync(command, [...args], { env: { ...env, ...extraEnv }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    write: (lv, offset, data) => modelWrite(dir, lv, offset, data),
    writeMany: (lv, writes) => modelWriteMany(dir, lv, writes),
    discard: (lv, offset, length) => modelDiscard(dir, lv, offset, length),
    state: () => readState(dir),
    close: () => modelTeardown(dir),
  };
}
