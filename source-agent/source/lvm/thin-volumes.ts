// What a receive into an LVM thin pool does to LVs, beyond what send needs (lvm-commands.ts):
// create a thin volume in the pool, resize it, activate it, and find out whether a --save-to
// path is a thin LV (then it is discarded before writing, behavior spec §5.2–5.3). The commands
// run with the tools lvm-commands.ts found on PATH.

import { describeError, LocalStorageError } from '../../errors.js';
import { ExternalCommandError, execFileCapture, findOnPath } from '../../sys/exec.js';
import { checkLvmNames, LVM_NAME, Lvm, type LvRow } from './lvm-commands.js';

async function runLvm(lvm: Lvm, args: readonly string[], what: string): Promise<string> {
  if (args[0] !== 'vgs') lvm.forget(); // it changes LVs behind the object's back
  try {
    return (await execFileCapture([lvm.tools.lvm, ...args], { env: lvm.tools.env, deadlineMs: lvm.deadlineMs })).stdout.toString('utf8');
  } catch (error) {
    const said = error instanceof ExternalCommandError ? error.stderrTail.trim().split('\n').at(-1)?.trim() : '';
    throw new LocalStorageError(`${what} failed: ${said || describeError(error)}`);
  }
}

/** `lvcreate -kn -ay -V <size>b -prw --thin -n <lv> <vg>/<pool>` (as Wyng). */
export async function createThinVolume(lvm: Lvm, vg: string, pool: string, name: string, size: number): Promise<void> {
  checkLvmNames(vg, pool, name);
  await runLvm(lvm, ['lvcreate', '-kn', '-ay', '-V', `${size}b`, '-prw', '--thin', '-n', name, `${vg}/${pool}`], `Creating ${vg}/${name}`);
}

/** `lvresize -L <size>b -f`: LVM rounds up to whole extents. */
export async function resizeVolume(lvm: Lvm, vg: string, name: string, size: number): Promise<void> {
  await runLvm(lvm, ['lvresize', '-L', `${size}b`, '-f', `${vg}/${name}`], `Resizing ${vg}/${name}`);
}

/** Activates an LV (also one with the activation-skip flag). */
export async function activateVolume(lvm: Lvm, vg: string, name: string): Promise<void> {
  await runLvm(lvm, ['lvchange', '-ay', '-K', `${vg}/${name}`], `Activating ${vg}/${name}`);
}

/** The VG's extent size in bytes: LV sizes are whole extents. */
export async function extentSize(lvm: Lvm, vg: string): Promise<number> {
  const out = await runLvm(lvm, ['vgs', '--noheadings', '--units=b', '--nosuffix', '-o', 'vg_extent_size', vg], `lvm vgs ${vg}`);
  const bytes = Number(out.trim());
  if (!Number.isSafeInteger(bytes) || bytes <= 0)
    throw new LocalStorageError(`Unexpected 'lvm vgs' output: ${JSON.stringify(out.slice(0, 100))}`);
  return bytes;
}

/** Whether an LV of `lvSize` bytes already has the size LVM would give a `size`-byte volume. */
export function sizeFits(lvSize: number, size: number, extent: number): boolean {
  return lvSize === Math.max(extent, Math.ceil(size / extent) * extent);
}

/**
 * The thin LV behind a `/dev/VG/LV` path, or null when the path is not one (no `lvm` on PATH,
 * another shape of path, an unknown VG or LV, or an LV that is not a thin volume).
 */
export async function thinVolumeAt(path: string, env: NodeJS.ProcessEnv): Promise<{ lvm: Lvm; row: LvRow } | null> {
  const m = /^\/dev\/([^/]+)\/([^/]+)$/.exec(path);
  if (!m || !LVM_NAME.test(m[1] ?? '') || !LVM_NAME.test(m[2] ?? '')) return null;
  const lvmPath = await findOnPath('lvm', env);
  if (!lvmPath) return null;
  const lvm = new Lvm({ lvm: lvmPath, dmsetup: '', thinDelta: '', env });
  const row = await lvm.lv(m[1] ?? '', m[2] ?? '').catch(() => null);
  return row && row.attr[0] === 'V' ? { lvm, row } : null;
}
