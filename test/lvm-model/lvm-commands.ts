// The `lvm` subcommands of the model: what LVM does to its metadata and the devices, with
// LVM's messages and exit codes (5 = command failed, 3 = bad command line). The kernel side
// (dm-thin) is modelled in pool.ts.

import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { one, type Parsed, parseArgs, parseSize, roundToExtents } from './args.js';
import {
  activate,
  applyPermission,
  deactivate,
  findPool,
  findThin,
  findVg,
  link,
  resizeContents,
  unlinkDev as unlinkDevice,
  unmap,
} from './pool.js';
import { lvs, vgdisplay, vgs } from './report.js';
import { ModelError, type ModelState, type PoolLv, splitLvPath, type ThinLv, thinFile, type Vg } from './state.js';

const DEFAULT_EXTENT = 4 * 1024 ** 2;
const NAME = /^[a-zA-Z0-9+_.][a-zA-Z0-9+_.-]*$/;

/** Runs one `lvm` command line on the state; returns what it prints on stdout. */
export function runLvm(dir: string, state: ModelState, argv: string[]): string {
  const [command, ...args] = argv;
  switch (command) {
    case 'lvs':
      return lvs(state, args);
    case 'vgs':
      return vgs(state, args);
    case 'vgdisplay':
      return vgdisplay(state, args);
    case 'vgcreate':
      return vgcreate(state, parseArgs(args, command));
    case 'vgremove':
      return vgremove(dir, state, parseArgs(args, command));
    case 'lvcreate':
      return lvcreate(dir, state, parseArgs(args, command));
    case 'lvremove':
      return lvremove(dir, state, parseArgs(args, command));
    case 'lvrename':
      return lvrename(state, parseArgs(args, command));
    case 'lvchange':
      return lvchange(dir, state, parseArgs(args, command));
    case 'lvresize':
    case 'lvextend':
    case 'lvreduce':
      return lvresize(dir, state, parseArgs(args, command), command);
    case 'version':
      return '  LVM version:     2.03.16(2) (2022-05-18) [skiff thin-pool model]\n';
    default:
      throw new ModelError(`No such command '${command ?? ''}'.  Try 'help'.`, 3);
  }
}

function checkName(name: string): void {
  if (!NAME.test(name) || name.length > 127) throw new ModelError(`Logical volume name "${name}" is invalid.`, 3);
}

function vgcreate(state: ModelState, p: Parsed): string {
  const [name] = p.positional;
  if (!name || p.positional.length < 2) throw new ModelError('Please provide volume group name and physical volumes', 3);
  if (state.vgs[name]) throw new ModelError(`A volume group called ${name} already exists.`);
  const extent = one(p, 'physicalextentsize');
  state.vgs[name] = { extentSize: extent ? parseSize(extent.replace(/^(\d+)$/, '$1k')).bytes : DEFAULT_EXTENT, lvs: {} };
  return `  Volume group "${name}" successfully created\n`;
}

function vgremove(dir: string, state: ModelState, p: Parsed): string {
  let out = '';
  for (const name of p.positional) {
    const vg = findVg(state, name);
    if (Object.keys(vg.lvs).length && !p.flags.has('force'))
      throw new ModelError(`Volume group "${name}" still contains logical volumes (use -f)`);
    for (const [lvName, lv] of Object.entries(vg.lvs)) if (lv.kind === 'thin') removeThin(dir, name, lvName, lv);
    delete state.vgs[name];
    rmSync(join('/dev', name), { recursive: true, force: true });
    rmSync(join(dir, name), { recursive: true, force: true });
    out += `  Volume group "${name}" successfully removed\n`;
  }
  return out;
}

function lvcreate(dir: string, state: ModelState, p: Parsed): string {
  const name = one(p, 'name');
  if (name) checkName(name);
  const tags = p.values.get('addtag') ?? [];
  const writable = (one(p, 'permission') ?? 'rw') === 'rw';
  if (!['r', 'rw'].includes(one(p, 'permission') ?? 'rw')) throw new ModelError('Invalid permission', 3);
  const skip = one(p, 'setactivationskip');
  const activateArg = one(p, 'activate') ?? 'y';
  const wantActive = activateArg === 'y' || activateArg === 'ay';

  if (p.flags.has('snapshot')) {
    // Thin snapshot: a new thin device sharing every block of its origin.
    if (one(p, 'size')) throw new ModelError('The LVM model has no old-style (non-thin) snapshots', 3);
    const [vgName, originName] = splitLvPath(p.positional[0] ?? '');
    const vg = findVg(state, vgName);
    const origin = findThin(state, vgName, originName);
    const pool = findPool(state, vgName, origin.pool);
    const newName = name ?? nextName(vg);
    const lv = newThin(dir, vgName, vg, pool, origin.pool, newName, origin.size, tags, writable);
    lv.origin = originName;
    lv.map = origin.map.map((run) => [...run] as [number, number, number]);
    lv.skipActivation = skip === undefined ? true : skip === 'y';
    execFileSync('cp', ['--sparse=always', '--reflink=auto', thinFile(dir, vgName, origin.thinId), thinFile(dir, vgName, lv.thinId)]);
    if (wantActive && (!lv.skipActivation || p.flags.has('ignoreactivationskip'))) activate(dir, vgName, newName, lv);
    return `  Logical volume "${newName}" created.\n`;
  }

  const virtual = one(p, 'virtualsize');
  const positional = p.positional[0] ?? '';
  if (virtual) {
    // Thin volume: -V SIZE [-T] VG/POOL, or --thinpool POOL VG.
    const thinpool = one(p, 'thinpool');
    const [vgName, poolName] = thinpool ? [positional, thinpool] : splitLvPath(positional);
    const vg = findVg(state, vgName);
    const pool = findPool(state, vgName, poolName);
    const newName = name ?? nextName(vg);
    const size = roundToExtents(parseSize(virtual).bytes, vg.extentSize);
    const lv = newThin(dir, vgName, vg, pool, poolName, newName, size, tags, writable);
    lv.skipActivation = skip === 'y';
    if (wantActive && !lv.skipActivation) activate(dir, vgName, newName, lv);
    return `  Logical volume "${newName}" created.\n`;
  }

  // Thin pool: --type thin-pool -L SIZE -n POOL VG, -T VG/POOL -L SIZE, --thinpool POOL -L SIZE VG.
  const size = one(p, 'size');
  const isPool = one(p, 'type') === 'thin-pool' || p.flags.has('thin') || one(p, 'thinpool') !== undefined;
  if (!size || !isPool) throw new ModelError('The LVM model creates only thin pools, thin volumes and thin snapshots', 3);
  const thinpool = one(p, 'thinpool');
  const [vgName, poolName] = thinpool
    ? [positional, thinpool]
    : positional.includes('/')
      ? splitLvPath(positional)
      : [positional, name ?? ''];
  checkName(poolName);
  const vg = findVg(state, vgName);
  if (vg.lvs[poolName]) throw new ModelError(`Logical Volume "${poolName}" already exists in volume group "${vgName}"`);
  const chunk = parseSize((one(p, 'chunksize') ?? '64k').replace(/^(\d+)$/, '$1k')).bytes;
  if (chunk < 65536 || chunk > 1024 ** 3 || chunk % 65536 !== 0)
    throw new ModelError(`Chunk size ${chunk} is not a multiple of 64 KiB in 64 KiB..1 GiB`, 3);
  const pool: PoolLv = {
    kind: 'pool',
    uuid: randomUUID(),
    size: roundToExtents(parseSize(size).bytes, vg.extentSize),
    dataBlockSize: chunk / 512,
    nextThinId: 1,
    transaction: 0,
    metadataSnapHeld: false,
    tags,
    time: Math.floor(Date.now() / 1000),
  };
  vg.lvs[poolName] = pool;
  return `  Logical volume "${poolName}" created.\n`;
}

function nextName(vg: Vg): string {
  for (let i = 0; ; i++) if (!vg.lvs[`lvol${i}`]) return `lvol${i}`;
}

function newThin(
  dir: string,
  vgName: string,
  vg: Vg,
  pool: PoolLv,
  poolName: string,
  name: string,
  size: number,
  tags: string[],
  writable: boolean,
): ThinLv {
  checkName(name);
  if (vg.lvs[name]) throw new ModelError(`Logical Volume "${name}" already exists in volume group`);
  const lv: ThinLv = {
    kind: 'thin',
    uuid: randomUUID(),
    pool: poolName,
    thinId: pool.nextThinId++,
    size,
    tags: [...new Set(tags)],
    writable,
    active: false,
    skipActivation: false,
    origin: '',
    time: Math.floor(Date.now() / 1000),
    map: [],
    loop: '',
  };
  pool.transaction++;
  vg.lvs[name] = lv;
  mkdirSync(join(dir, vgName), { recursive: true });
  writeFileSync(thinFile(dir, vgName, lv.thinId), '');
  truncateSync(thinFile(dir, vgName, lv.thinId), size);
  return lv;
}

function removeThin(dir: string, vgName: string, name: string, lv: ThinLv): void {
  if (lv.active) deactivate(vgName, name, lv);
  unlinkDevice(vgName, name);
  rmSync(thinFile(dir, vgName, lv.thinId), { force: true });
}

function lvremove(dir: string, state: ModelState, p: Parsed): string {
  let out = '';
  for (const path of p.positional) {
    const [vgName, name] = splitLvPath(path);
    const vg = findVg(state, vgName);
    const lv = vg.lvs[name];
    if (!lv) throw new ModelError(`Failed to find logical volume "${vgName}/${name}"`);
    const force = p.flags.has('force') || p.flags.has('yes');
    if (lv.kind === 'pool') {
      const thins = Object.entries(vg.lvs).filter(([, t]) => t.kind === 'thin' && t.pool === name);
      if (thins.length && !force)
        throw new ModelError(
          `Removing pool "${name}" will remove ${thins.length} dependent volume(s). Proceed? [y/n]: [n]\n  Logical volume "${name}" not removed.`,
        );
      for (const [thinName, thin] of thins) {
        removeThin(dir, vgName, thinName, thin as ThinLv);
        delete vg.lvs[thinName];
      }
    } else {
      if (lv.active && !force)
        throw new ModelError(
          `Do you really want to remove active logical volume ${vgName}/${name}? [y/n]: [n]\n  Logical volume ${name} not removed.`,
        );
      removeThin(dir, vgName, name, lv);
      findPool(state, vgName, lv.pool).transaction++;
    }
    delete vg.lvs[name];
    out += `  Logical volume "${name}" successfully removed.\n`;
  }
  return out;
}

function lvrename(state: ModelState, p: Parsed): string {
  let vgName: string;
  let oldName: string;
  let newName: string;
  if (p.positional.length === 3) [vgName, oldName, newName] = p.positional as [string, string, string];
  else if (p.positional.length === 2) {
    [vgName, oldName] = splitLvPath(p.positional[0] as string);
    newName = p.positional[1] as string;
  } else throw new ModelError('Old and new logical volume names required', 3);
  if (newName.includes('/')) {
    const [newVg, n] = splitLvPath(newName);
    if (newVg !== vgName) throw new ModelError('Logical volume names must have the same volume group', 3);
    newName = n;
  }
  checkName(newName);
  const vg = findVg(state, vgName);
  const lv = vg.lvs[oldName];
  if (!lv) throw new ModelError(`Existing logical volume "${oldName}" not found in volume group "${vgName}"`);
  if (vg.lvs[newName]) throw new ModelError(`Logical Volume "${newName}" already exists in volume group "${vgName}"`);
  delete vg.lvs[oldName];
  vg.lvs[newName] = lv;
  for (const other of Object.values(vg.lvs)) {
    if (other.kind === 'thin' && other.pool === oldName) other.pool = newName;
    if (other.kind === 'thin' && other.origin === oldName) other.origin = newName;
  }
  if (lv.kind === 'thin' && lv.active) {
    unlinkDevice(vgName, oldName);
    link(vgName, newName, lv.loop);
  }
  return `  Renamed "${oldName}" to "${newName}" in volume group "${vgName}"\n`;
}

function lvchange(dir: string, state: ModelState, p: Parsed): string {
  if (p.positional.length === 0) throw new ModelError('Please give logical volume path(s)', 3);
  for (const path of p.positional) {
    const [vgName, name] = splitLvPath(path);
    const vg = findVg(state, vgName);
    const lv = vg.lvs[name];
    if (!lv) throw new ModelError(`Failed to find logical volume "${vgName}/${name}"`);
    for (const tag of p.values.get('addtag') ?? []) if (!lv.tags.includes(tag)) lv.tags.push(tag);
    for (const tag of p.values.get('deltag') ?? []) lv.tags = lv.tags.filter((t) => t !== tag);
    if (lv.kind !== 'thin') continue;
    const skip = one(p, 'setactivationskip');
    if (skip !== undefined) lv.skipActivation = skip === 'y';
    const permission = one(p, 'permission');
    if (permission !== undefined) {
      if (permission !== 'r' && permission !== 'rw') throw new ModelError('Invalid permission', 3);
      if ((permission === 'rw') === lv.writable) {
        throw new ModelError(`Logical volume ${vgName}/${name} is already ${lv.writable ? 'writable' : 'read only'}.`);
      }
      lv.writable = permission === 'rw';
      applyPermission(dir, vgName, name, lv);
    }
    const act = one(p, 'activate');
    if (act === 'y' || act === 'ay') {
      if (!lv.skipActivation || p.flags.has('ignoreactivationskip')) activate(dir, vgName, name, lv);
    } else if (act === 'n') deactivate(vgName, name, lv);
    else if (act !== undefined) throw new ModelError(`Invalid argument for --activate: ${act}`, 3);
  }
  return '';
}

function lvresize(dir: string, state: ModelState, p: Parsed, command: string): string {
  const size = one(p, 'size');
  if (!size || p.positional.length !== 1) throw new ModelError('Please specify either size or extents and one logical volume', 3);
  const [vgName, name] = splitLvPath(p.positional[0] as string);
  const vg = findVg(state, vgName);
  const lv = findThin(state, vgName, name);
  const { sign, bytes } = parseSize(size);
  const wanted = roundToExtents(sign === '+' ? lv.size + bytes : sign === '-' ? lv.size - bytes : bytes, vg.extentSize);
  if (wanted <= 0) throw new ModelError('Size must be positive', 3);
  if (wanted === lv.size)
    throw new ModelError(`New size (${wanted / vg.extentSize} extents) matches existing size (${lv.size / vg.extentSize} extents).`);
  if (command === 'lvextend' && wanted < lv.size) throw new ModelError('New size given is not larger than existing size.');
  if (command === 'lvreduce' && wanted > lv.size) throw new ModelError('New size given is larger than the current size.');
  if (wanted < lv.size && !p.flags.has('force') && !p.flags.has('yes')) {
    throw new ModelError(`Do you really want to reduce ${vgName}/${name}? [y/n]: [n]\n  Logical volume ${vgName}/${name} NOT reduced.`);
  }
  const old = lv.size;
  lv.size = wanted;
  // Shrinking a thin LV discards the blocks past its new end (dm-thin unmaps them).
  if (wanted < old) unmap(findPool(state, vgName, lv.pool), lv, wanted, 0);
  resizeContents(dir, vgName, lv);
  return `  Size of logical volume ${vgName}/${name} changed.\n  Logical volume ${vgName}/${name} successfully resized.\n`;
}
