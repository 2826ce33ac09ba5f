// The config file (/etc/skiff/skiff.ini, or --config=FILE), in wyng.ini's syntax: section
// [var-global-default], keys = long option names. Its values act as defaults: they are placed
// before the command line's own options, so the command line wins (and repeatable options add
// up, as with Wyng's argparse defaults).

import { readFileSync } from 'node:fs';
import { errnoOf } from '../../protocol/thrown.js';
import { IniSyntaxError, parseIni } from '../archive/ini-text.js';
import { describeError, InputError } from '../errors.js';
import { isOneOf } from '../lookup.js';
import { CONFIG_IGNORED, OPTION_ALIASES, WYNG_OPTIONS } from './options.js';
import { nowhereReason } from './wyng-compat.js';

export const DEFAULT_CONFIG_PATH = '/etc/skiff/skiff.ini';
/** Read when Skiff's own file does not exist, so a machine set up for Wyng needs no second file. */
export const WYNG_CONFIG_PATH = '/etc/wyng/wyng.ini';
const SECTION = 'var-global-default';

export interface ConfigResult {
  /** Arguments to put before the command line's. */
  args: string[];
  /** Notes for stderr ("Ignoring config item: …"). */
  notes: string[];
  /**
   * Items for options Skiff has but the running command does not take (`keep` for list). Wyng
   * applies the file as defaults to every command and says nothing of these, and one file serves
   * all commands, so they are listed only with --verbose (run.ts), never dropped unseen.
   */
  unused: string[];
  /** The file read, or null when there was none; `fallback`: Wyng's file, Skiff's being absent. */
  path: string | null;
  fallback: boolean;
}

/**
 * The default files, in the order they are tried. The environment may name others
 * (SKIFF_CONFIG_PATH, SKIFF_WYNG_CONFIG_PATH): tests use that, and so can a user whose /etc is
 * read-only.
 */
export function defaultConfigPaths(env: NodeJS.ProcessEnv): [string, string] {
  return [env['SKIFF_CONFIG_PATH'] || DEFAULT_CONFIG_PATH, env['SKIFF_WYNG_CONFIG_PATH'] || WYNG_CONFIG_PATH];
}

const kindOf = (key: string): 'value' | 'list' | 'flag' | 'count' | null => {
  for (const kind of ['value', 'list', 'flag', 'count'] as const) {
    if (isOneOf(WYNG_OPTIONS[kind], key)) return kind;
  }
  return null;
};

/**
 * Reads the config file. `explicit` is the --config value (then the file must exist);
 * otherwise the first of `defaults` that exists is read (Skiff's, else Wyng's), if any. `accepted` are the long options the current
 * command takes: items for other options have no meaning for it and are left out, as they are
 * in Wyng, and listed in `unused`; items no Skiff command implements yet are noted.
 */
export function readConfig(
  explicit: string | undefined,
  accepted: ReadonlySet<string>,
  implemented: ReadonlySet<string>,
  defaults: readonly string[] = [DEFAULT_CONFIG_PATH, WYNG_CONFIG_PATH],
): ConfigResult {
  const candidates = explicit === undefined ? defaults : [explicit];
  let text: string | undefined;
  let path: string | undefined;
  for (const candidate of candidates) {
    try {
      text = readFileSync(candidate, 'utf8');
      path = candidate;
      break;
    } catch (error) {
      if (explicit === undefined && errnoOf(error) === 'ENOENT') continue;
      throw new InputError(`Cannot read config file '${candidate}': ${describeError(error)}`);
    }
  }
  if (text === undefined || path === undefined) return { args: [], notes: [], unused: [], path: null, fallback: false };
  let section: Map<string, string> | undefined;
  try {
    section = parseIni(text).get(SECTION);
  } catch (error) {
    if (error instanceof IniSyntaxError) throw new InputError(`Config file '${path}': ${error.message}`);
    throw error;
  }
  const fallback = explicit === undefined && path !== defaults[0];
  return { ...configArguments(section ?? new Map(), accepted, implemented), path, fallback };
}

export function configArguments(
  items: Map<string, string>,
  accepted: ReadonlySet<string>,
  implemented: ReadonlySet<string>,
): Omit<ConfigResult, 'path' | 'fallback'> {
  const args: string[] = [];
  const notes: string[] = [];
  const unused: string[] = [];
  for (const [rawKey, value] of items) {
    const key = OPTION_ALIASES[rawKey] ?? rawKey;
    const kind = kindOf(key);
    if (kind === null) throw new InputError(`Unknown item in config: ${rawKey}`);
    if (CONFIG_IGNORED.has(key)) {
      notes.push(`Ignoring config item: ${rawKey}`);
      continue;
    }
    const pointless = nowhereReason(key);
    if (pointless !== undefined) {
      notes.push(`Ignoring config item: ${rawKey} (no effect in Skiff: ${pointless})`);
      continue;
    }
    if (!implemented.has(key)) {
      notes.push(`Ignoring config item: ${rawKey} (not supported by Skiff yet)`);
      continue;
    }
    if (!accepted.has(key)) {
      unused.push(rawKey);
      continue;
    }
    switch (kind) {
      case 'value':
        args.push(`--${key}=${value}`);
        break;
      case 'list':
        for (const item of value.split('\n')) if (item.trim() !== '') args.push(`--${key}=${item.trim()}`);
        break;
      case 'flag':
      case 'count': {
        if (!/^-?[0-9]+$/.test(value)) throw new InputError(`Config item ${rawKey} must be a number (0 or 1), not '${value}'.`);
        const times = kind === 'flag' ? (Number(value) !== 0 ? 1 : 0) : Math.max(0, Number(value));
        for (let i = 0; i < times; i++) args.push(`--${key}`);
        break;
      }
    }
  }
  return { args, notes, unused };
}
