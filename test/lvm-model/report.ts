// `lvm lvs` / `lvm vgs` / `lvm vgdisplay` output as LVM prints it, for the fields Skiff and Wyng
// read: lv_name, vg_name, lv_attr, lv_size, lv_time, pool_lv, thin_id, lv_tags, origin, lv_path,
// data_percent (aliases as LVM accepts them). Rows sorted by VG then LV; every line starts with
// two spaces (also with --separator, which is why Wyng strips them); --units=b prints "<n>B".

import { one, parseArgs } from './args.js';
import { blockBytes } from './pool.js';
import { type Lv, ModelError, type ModelState, splitLvPath, type Vg } from './state.js';

type Row = { vg: string; name: string; lv: Lv; vgState: Vg };

const LV_FIELDS: Record<string, { heading: string; value: (r: Row, units: Units) => string }> = {
  lv_name: { heading: 'LV', value: (r) => r.name },
  vg_name: { heading: 'VG', value: (r) => r.vg },
  lv_attr: { heading: 'Attr', value: (r) => lvAttr(r.lv, r.vgState, r.name) },
  lv_size: { heading: 'LSize', value: (r, u) => formatSize(r.lv.size, u) },
  lv_time: { heading: 'CTime', value: (r) => lvTime(r.lv.time) },
  pool_lv: { heading: 'Pool', value: (r) => (r.lv.kind === 'thin' ? r.lv.pool : '') },
  thin_id: { heading: 'ThId', value: (r) => (r.lv.kind === 'thin' ? String(r.lv.thinId) : '') },
  lv_tags: { heading: 'LV Tags', value: (r) => [...r.lv.tags].sort().join(',') },
  origin: { heading: 'Origin', value: (r) => (r.lv.kind === 'thin' && r.vgState.lvs[r.lv.origin] ? r.lv.origin : '') },
  lv_path: { heading: 'Path', value: (r) => (r.lv.kind === 'thin' ? `/dev/${r.vg}/${r.name}` : '') },
  lv_uuid: { heading: 'LV UUID', value: (r) => r.lv.uuid },
  data_percent: { heading: 'Data%', value: (r) => dataPercent(r) },
};
const LV_ALIASES: Record<string, string> = {
  name: 'lv_name',
  attr: 'lv_attr',
  size: 'lv_size',
  time: 'lv_time',
  tags: 'lv_tags',
  path: 'lv_path',
  uuid: 'lv_uuid',
  pool: 'pool_lv',
  vg: 'vg_name',
};
const LV_DEFAULT = ['lv_name', 'vg_name', 'lv_attr', 'lv_size', 'pool_lv', 'origin', 'data_percent'];

type Units = { bytes: boolean; suffix: boolean };

/** lv_attr as LVM prints it: type, permission, allocation, fixed minor, state, open, target, zero, health, skip. */
export function lvAttr(lv: Lv, vg?: Vg, name?: string): string {
  // A pool is "open" (attr[5] 'o') while thin volumes of it are active.
  if (lv.kind === 'pool')
    return `twi-a${Object.values(vg?.lvs ?? {}).some((t) => t.kind === 'thin' && t.pool === name && t.active) ? 'o' : '-'}tz--`;
  return `V${lv.writable ? 'w' : 'r'}i-${lv.active ? 'a' : '-'}-tz-${lv.skipActivation ? 'k' : '-'}`;
}

/**
 * lv_time in local time, as LVM prints it: report/time_format of lvm.conf, by default
 * "%Y-%m-%d %T %z". SKIFF_LVM_MODEL_TIME_FORMAT stands in for a time_format set in lvm.conf (the
 * strftime conversions %Y %m %d %H %M %S %T %F %z %s %%; anything else is printed as it is).
 */
export function lvTime(seconds: number, format = process.env['SKIFF_LVM_MODEL_TIME_FORMAT'] ?? '%Y-%m-%d %T %z'): string {
  const d = new Date(seconds * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const zone = `${off < 0 ? '-' : '+'}${p(Math.floor(Math.abs(off) / 60))}${p(Math.abs(off) % 60)}`;
  const date = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  const time = `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  const conversions: Record<string, string> = {
    Y: String(d.getFullYear()),
    m: p(d.getMonth() + 1),
    d: p(d.getDate()),
    H: p(d.getHours()),
    M: p(d.getMinutes()),
    S: p(d.getSeconds()),
    T: time,
    F: date,
    z: zone,
    s: String(Math.floor(seconds)),
    '%': '%',
  };
  return format.replace(/%(.)/g, (all, c: string) => conversions[c] ?? all);
}

function dataPercent(r: Row): string {
  const lv = r.lv;
  const pool = lv.kind === 'thin' ? r.vgState.lvs[lv.pool] : lv;
  if (pool?.kind !== 'pool') return '';
  if (lv.kind === 'thin') return ((100 * lv.map.reduce((n, run) => n + run[2], 0) * blockBytes(pool)) / lv.size).toFixed(2);
  const used = new Set<number>();
  for (const other of Object.values(r.vgState.lvs)) {
    if (other.kind === 'thin' && other.pool === r.name) for (const [, d, n] of other.map) for (let i = 0; i < n; i++) used.add(d + i);
  }
  return ((100 * used.size * blockBytes(pool)) / pool.size).toFixed(2);
}

function formatSize(bytes: number, units: Units): string {
  if (units.bytes) return `${bytes}${units.suffix ? 'B' : ''}`;
  const letters = ['k', 'm', 'g', 't', 'p'];
  let value = bytes / 1024;
  let i = 0;
  while (value >= 1024 && i < letters.length - 1) {
    value /= 1024;
    i++;
  }
  return `${value.toFixed(2)}${units.suffix ? letters[i] : ''}`;
}

function table(rows: string[][], headings: string[] | null, separator: string | undefined): string {
  const all = headings ? [headings, ...rows] : rows;
  if (separator !== undefined) return all.map((cells) => `  ${cells.join(separator)}\n`).join('');
  const widths = (all[0] ?? []).map((_, i) => Math.max(...all.map((cells) => (cells[i] as string).length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' ')}`.trimEnd();
  return all.map((cells) => `${line(cells)}\n`).join('');
}

/** Selection: no argument = every LV; "VG" = its LVs; "VG/LV" or "/dev/VG/LV" = one. */
function selectRows(state: ModelState, selectors: string[]): Row[] {
  const rows: Row[] = [];
  const add = (vg: string, name: string) => {
    const vgState = state.vgs[vg] as Vg;
    rows.push({ vg, name, lv: vgState.lvs[name] as Lv, vgState });
  };
  if (selectors.length === 0) {
    for (const vg of Object.keys(state.vgs).sort()) for (const name of Object.keys((state.vgs[vg] as Vg).lvs).sort()) add(vg, name);
    return rows;
  }
  for (const selector of selectors) {
    const clean = selector.replace(/\/+/g, '/').replace(/\/$/, '');
    const [vg, name] = clean.includes('/') ? splitLvPath(clean) : [clean, undefined];
    if (!state.vgs[vg]) throw new ModelError(`Volume group "${vg}" not found`);
    if (name === undefined) {
      for (const lv of Object.keys((state.vgs[vg] as Vg).lvs).sort()) add(vg, lv);
    } else if ((state.vgs[vg] as Vg).lvs[name]) add(vg, name);
    else throw new ModelError(`Failed to find logical volume "${vg}/${name}"`);
  }
  return rows;
}

export function lvs(state: ModelState, args: string[]): string {
  const p = parseArgs(args, 'lvs');
  const units = unitsOf(p.values.get('units'), p.flags.has('nosuffix'));
  const fields = (one(p, 'options') ?? LV_DEFAULT.join(',')).split(',').map((f) => {
    const key = LV_ALIASES[f.trim()] ?? f.trim();
    if (!LV_FIELDS[key]) throw new ModelError(`Unrecognised field: ${f}`, 3);
    return LV_FIELDS[key];
  });
  const rows = selectRows(state, p.positional).map((r) => fields.map((f) => f.value(r, units)));
  return table(rows, p.flags.has('noheadings') ? null : fields.map((f) => f.heading), one(p, 'separator'));
}

function unitsOf(values: string[] | undefined, nosuffix: boolean): Units {
  const u = values?.[values.length - 1];
  if (u !== undefined && u !== 'b' && u !== 'B' && u !== 'h' && u !== 'H')
    throw new ModelError(`the LVM model prints only --units=b or h, not ${u}`, 3);
  return { bytes: u === 'b' || u === 'B', suffix: !nosuffix };
}

const VG_FIELDS: Record<string, { heading: string; value: (name: string, vg: Vg, units: Units) => string }> = {
  vg_name: { heading: 'VG', value: (name) => name },
  lv_count: { heading: '#LV', value: (_, vg) => String(Object.keys(vg.lvs).length) },
  vg_extent_size: { heading: 'Ext', value: (_, vg, u) => formatSize(vg.extentSize, u) },
  vg_attr: { heading: 'Attr', value: () => 'wz--n-' },
  vg_tags: { heading: 'VG Tags', value: () => '' },
};

export function vgs(state: ModelState, args: string[]): string {
  const p = parseArgs(args, 'vgs');
  const units = unitsOf(p.values.get('units'), p.flags.has('nosuffix'));
  const fields = (one(p, 'options') ?? 'vg_name,lv_count,vg_attr').split(',').map((f) => {
    const key = f.trim() === 'name' ? 'vg_name' : f.trim();
    if (!VG_FIELDS[key]) throw new ModelError(`Unrecognised field: ${f}`, 3);
    return VG_FIELDS[key];
  });
  const names = p.positional.length ? p.positional : Object.keys(state.vgs).sort();
  const rows = names.map((name) => {
    const vg = state.vgs[name];
    if (!vg) throw new ModelError(`Volume group "${name}" not found`);
    return fields.map((f) => f.value(name, vg, units));
  });
  return table(rows, p.flags.has('noheadings') ? null : fields.map((f) => f.heading), one(p, 'separator'));
}

export function vgdisplay(state: ModelState, args: string[]): string {
  const p = parseArgs(args, 'vgdisplay');
  const names = p.positional.length ? p.positional : Object.keys(state.vgs).sort();
  return names
    .map((name) => {
      const vg = state.vgs[name];
      if (!vg) throw new ModelError(`Volume group "${name}" not found\nCannot process volume group ${name}`);
      return [
        '  --- Volume group ---',
        `  VG Name               ${name}`,
        '  Format                lvm2',
        `  Cur LV                ${Object.keys(vg.lvs).length}`,
        `  PE Size               ${(vg.extentSize / 1024 ** 2).toFixed(2)} MiB`,
        '',
      ].join('\n');
    })
    .join('\n');
}
