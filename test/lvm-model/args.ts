// Command-line parsing for the `lvm` stand-in, in LVM's own style: options anywhere among the
// positional arguments (Wyng writes `lvchange /dev/vg/lv -p r`), short options with their value
// attached or separate (`-kn`, `-p r`, `-prw`), long options as `--x=v` or `--x v`, and sizes with
// LVM's unit letters (default MiB for -L/-V). Unknown options fail like LVM (exit 3).

import { ModelError } from './state.js';

const SHORT_VALUE: Record<string, string> = {
  L: 'size',
  V: 'virtualsize',
  n: 'name',
  c: 'chunksize',
  p: 'permission',
  k: 'setactivationskip',
  a: 'activate',
  o: 'options',
  s: 'physicalextentsize', // only for vgcreate; lvcreate's -s is the snapshot flag (below)
};
const SHORT_FLAG: Record<string, string> = {
  T: 'thin',
  f: 'force',
  y: 'yes',
  K: 'ignoreactivationskip',
  q: 'quiet',
  v: 'verbose',
  A: 'autobackup',
};
const LONG_VALUE = new Set([
  'size',
  'virtualsize',
  'name',
  'chunksize',
  'permission',
  'setactivationskip',
  'activate',
  'addtag',
  'deltag',
  'thinpool',
  'type',
  'options',
  'separator',
  'units',
  'physicalextentsize',
  'poolmetadatasize',
  'config',
  'select',
  'sort',
  'zero',
  'autobackup',
]);
const LONG_FLAG = new Set([
  'thin',
  'snapshot',
  'noheadings',
  'nosuffix',
  'force',
  'yes',
  'ignoreactivationskip',
  'quiet',
  'verbose',
  'readonly',
  'all',
  'nolocking',
]);

export interface Parsed {
  values: Map<string, string[]>;
  flags: Set<string>;
  positional: string[];
}

export function parseArgs(args: readonly string[], command: string): Parsed {
  const parsed: Parsed = { values: new Map(), flags: new Set(), positional: [] };
  const put = (key: string, value: string) => parsed.values.set(key, [...(parsed.values.get(key) ?? []), value]);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const key = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      if (LONG_FLAG.has(key) && eq < 0) parsed.flags.add(key);
      else if (LONG_VALUE.has(key)) put(key, eq < 0 ? need(args, ++i, arg) : arg.slice(eq + 1));
      else throw new ModelError(`${command}: unrecognized option '${arg}'`, 3);
    } else if (arg.startsWith('-') && arg.length > 1) {
      const letter = arg[1] as string;
      // lvcreate -s is --snapshot; vgcreate -s takes the extent size.
      if (letter === 's' && command !== 'vgcreate') {
        parsed.flags.add('snapshot');
        if (arg.length > 2) throw new ModelError(`${command}: unrecognized option '${arg}'`, 3);
      } else if (SHORT_VALUE[letter]) put(SHORT_VALUE[letter], arg.length > 2 ? arg.slice(2) : need(args, ++i, arg));
      else if ([...arg.slice(1)].every((c) => SHORT_FLAG[c])) for (const c of arg.slice(1)) parsed.flags.add(SHORT_FLAG[c] as string);
      else throw new ModelError(`${command}: invalid option -- '${arg.slice(1)}'`, 3);
    } else {
      parsed.positional.push(arg);
    }
  }
  return parsed;
}

function need(args: readonly string[], i: number, option: string): string {
  const value = args[i];
  if (value === undefined) throw new ModelError(`option '${option}' requires an argument`, 3);
  return value;
}

export function one(parsed: Parsed, key: string): string | undefined {
  const all = parsed.values.get(key);
  return all?.[all.length - 1];
}

const UNITS: Record<string, number> = { b: 1, s: 512, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** "10m", "4G", "1073741824b", "+8m", "2048s" → { sign, bytes }; default unit MiB. */
export function parseSize(text: string): { sign: '' | '+' | '-'; bytes: number } {
  const m = /^([+-]?)(\d+(?:\.\d+)?)([bBsSkKmMgGtTpP]?)$/.exec(text);
  if (!m) throw new ModelError(`Invalid argument for --size: ${text}`, 3);
  const unit = UNITS[(m[3] || 'm').toLowerCase()] as number;
  return { sign: m[1] as '' | '+' | '-', bytes: Math.round(Number(m[2]) * unit) };
}

/** LVM sizes are whole extents: round up, saying so on stderr as LVM does. */
export function roundToExtents(bytes: number, extentSize: number): number {
  const rounded = Math.ceil(bytes / extentSize) * extentSize;
  if (rounded !== bytes) process.stderr.write(`  Rounding up size to full physical extent ${humanSize(rounded)}.\n`);
  return rounded;
}

export function humanSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(2)} ${units[unit]}`;
}
