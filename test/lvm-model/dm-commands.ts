// The `dmsetup` and `thin_delta` stand-ins of the model. The kernel side is modelled: a pool's
// "metadata snapshot" is the binary metadata that reserve_metadata_snap builds from the model's
// mappings with the real thin_restore; the thin_delta wrapper drops --metadata-snap and runs the
// REAL thin_delta on that file, so what Skiff parses is genuine thin_delta output.
//
// Faults for tests, from SKIFF_LVM_MODEL_FAULT (comma-separated): dmsetup-reserve, dmsetup-release
// (the message fails), thin_delta-fail (exit 1, no output), thin_delta-truncate (first half of the
// real output, exit 0), thin_delta-hang (part of the output, then waits to be killed),
// thin_delta-fail-second (the second thin_delta on one reservation of a pool fails, exit 1).

import { spawn, spawnSync } from 'node:child_process';
import { buildMetadata, findPool, findVg, SECTOR } from './pool.js';
import { dmName, ModelError, type ModelState, metadataFile, type PoolLv, splitDmName } from './state.js';

export function faults(): Set<string> {
  return new Set((process.env['SKIFF_LVM_MODEL_FAULT'] ?? '').split(',').filter(Boolean));
}

/** "VG-POOL-tpool" (dashes doubled) → the pool; null when no such pool. */
function poolByDmName(state: ModelState, name: string): { vg: string; pool: string; lv: PoolLv } | null {
  if (!name.endsWith('-tpool')) return null;
  const split = splitDmName(name.slice(0, -'-tpool'.length));
  if (!split) return null;
  const lv = state.vgs[split[0]]?.lvs[split[1]];
  return lv?.kind === 'pool' ? { vg: split[0], pool: split[1], lv } : null;
}

/** dmsetup message|status; returns stdout. Errors as dmsetup prints them, exit 1. */
export function runDmsetup(dir: string, state: ModelState, argv: string[]): string {
  const [command, ...args] = argv;
  if (command === 'message') {
    const [name, sector, message, ...rest] = args;
    if (!name || sector === undefined || !message || rest.length)
      throw new ModelError('Usage: dmsetup message <device> <sector> <message>', 1);
    const found = poolByDmName(state, name);
    const event = { op: message, target: found ? `${found.vg}/${found.pool}` : name, ok: false };
    state.events.push(event);
    if (!found) throw new ModelError(`device-mapper: message ioctl on ${name}  failed: No such device or address\nCommand failed.`, 1);
    const pool = found.lv;
    if (message === 'reserve_metadata_snap') {
      if (faults().has('dmsetup-reserve'))
        throw new ModelError(`device-mapper: message ioctl on ${name}  failed: Input/output error\nCommand failed.`, 1);
      // dm-thin refuses a second reservation: "Pool metadata snapshot already exists".
      if (pool.metadataSnapHeld)
        throw new ModelError(`device-mapper: message ioctl on ${name}  failed: Device or resource busy\nCommand failed.`, 1);
      buildMetadata(dir, found.vg, findVg(state, found.vg), found.pool, pool);
      pool.metadataSnapHeld = true;
    } else if (message === 'release_metadata_snap') {
      if (faults().has('dmsetup-release'))
        throw new ModelError(`device-mapper: message ioctl on ${name}  failed: Input/output error\nCommand failed.`, 1);
      // "No pool metadata snapshot found: nothing to release."
      if (!pool.metadataSnapHeld)
        throw new ModelError(`device-mapper: message ioctl on ${name}  failed: Invalid argument\nCommand failed.`, 1);
      pool.metadataSnapHeld = false;
    } else {
      throw new ModelError(
        `device-mapper: message ioctl on ${name}  failed: Invalid argument (the model knows only reserve/release_metadata_snap)\nCommand failed.`,
        1,
      );
    }
    event.ok = true;
    return '';
  }
  if (command === 'status') {
    const lines: string[] = [];
    for (const [vgName, vg] of Object.entries(state.vgs).sort()) {
      for (const [lvName, lv] of Object.entries(vg.lvs).sort()) {
        if (lv.kind === 'pool') {
          const total = Math.floor(lv.size / (lv.dataBlockSize * SECTOR));
          const used = new Set<number>();
          for (const t of Object.values(vg.lvs))
            if (t.kind === 'thin' && t.pool === lvName) for (const [, d, n] of t.map) for (let i = 0; i < n; i++) used.add(d + i);
          // <transaction> <used>/<total metadata blocks> <used>/<total data blocks> <held root|-> …; the held
          // root's block number is not modelled (any number means "held").
          const held = lv.metadataSnapHeld ? '1' : '-';
          lines.push(
            `${dmName(vgName, lvName, '-tpool')}: 0 ${lv.size / SECTOR} thin-pool ${lv.transaction} 10/4096 ${used.size}/${total} ${held} rw discard_passdown queue_if_no_space - 1024`,
          );
        } else if (lv.active) {
          const pool = findPool(state, vgName, lv.pool);
          const mapped = lv.map.reduce((n, r) => n + r[2], 0) * pool.dataBlockSize;
          const last = lv.map.length
            ? (() => {
                const r = lv.map[lv.map.length - 1] as [number, number, number];
                return (r[0] + r[2]) * pool.dataBlockSize - 1;
              })()
            : '-';
          lines.push(`${dmName(vgName, lvName)}: 0 ${lv.size / SECTOR} thin ${mapped} ${last}`);
        }
      }
    }
    if (args.length === 0) return lines.map((l) => `${l}\n`).join('');
    const wanted = args[0] as string;
    const line = lines.find((l) => l.startsWith(`${wanted}: `));
    if (!line) throw new ModelError('Device does not exist.\nCommand failed.', 1);
    return `${line.slice(wanted.length + 2)}\n`;
  }
  throw new ModelError(`dmsetup: the LVM model knows only 'message' and 'status', not '${command ?? ''}'`, 1);
}

/** thin_delta wrapper, step 1 (under the state lock): maps /dev/mapper/VG-POOL_tmeta to the
 *  model's metadata file and drops --metadata-snap. Returns the real tool's arguments, or an exit
 *  status when it must fail as the real one would. */
export function planThinDelta(dir: string, state: ModelState, argv: string[]): string[] | number {
  const args: string[] = [];
  let metadataSnap = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-m' || arg === '--metadata-snap') {
      metadataSnap = true;
      if (/^\d+$/.test(argv[i + 1] ?? '')) i++; // its optional block number
    } else if (arg.startsWith('--metadata-snap=')) metadataSnap = true;
    else args.push(arg);
  }
  const device = args[args.length - 1] ?? '';
  const m = /^\/dev\/mapper\/(.+)_tmeta$/.exec(device);
  const split = m ? splitDmName(m[1] as string) : null;
  const pool = split ? state.vgs[split[0]]?.lvs[split[1]] : undefined;
  if (split && pool?.kind === 'pool') {
    const target = `${split[0]}/${split[1]}`;
    state.events.push({ op: 'thin_delta', target, ok: pool.metadataSnapHeld });
    if (faults().has('thin_delta-fail-second') && deltasSinceReserve(state, target) === 2) {
      process.stderr.write('thin_delta: (model fault) metadata read error on the second volume\n');
      return 1;
    }
    // The real tool reads the held root from the superblock; without one it says exactly this.
    if (metadataSnap && !pool.metadataSnapHeld) {
      process.stderr.write('no current metadata snap\n');
      return 1;
    }
    args[args.length - 1] = metadataFile(dir, split[0], split[1]);
  }
  return args;
}

/** thin_delta runs on `target` since its last reserve_metadata_snap (this one included). */
function deltasSinceReserve(state: ModelState, target: string): number {
  let n = 0;
  for (let i = state.events.length - 1; i >= 0; i--) {
    const e = state.events[i];
    if (e?.target !== target) continue;
    if (e.op === 'reserve_metadata_snap') break;
    if (e.op === 'thin_delta') n++;
  }
  return n;
}

/** Step 2 (without the lock, so a hung thin_delta cannot block the release): run the real tool. */
export async function execThinDelta(args: string[]): Promise<number> {
  const real = process.env['SKIFF_REAL_THIN_DELTA'] ?? '/usr/sbin/thin_delta';
  // Faults are for the delta runs: `thin_delta -V` (the version check) always answers.
  const f = args.length === 1 && (args[0] === '-V' || args[0] === '--version') ? new Set<string>() : faults();
  if (f.has('thin_delta-fail')) {
    process.stderr.write('thin_delta: (model fault) metadata read error\n');
    return 1;
  }
  if (f.has('thin_delta-truncate') || f.has('thin_delta-hang')) {
    const out = spawnSync(real, args, { encoding: 'utf8' });
    process.stdout.write(out.stdout.slice(0, Math.floor(out.stdout.length / 2)));
    if (f.has('thin_delta-truncate')) return 0;
    await new Promise(() => setInterval(() => {}, 1000));
  }
  return await new Promise<number>((resolve) => {
    const child = spawn(real, args, { stdio: 'inherit' });
    child.on('error', (e) => {
      process.stderr.write(`${real}: ${e.message}\n`);
      resolve(127);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
