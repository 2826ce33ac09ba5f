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

export const DEFAULT_CONFIG_PATH = '/etc/skiff/skiff.ini';
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
}

const kindOf = (key: string): 'value' | 'list' | 'flag' | 'count' | null => {
  for (const kind of ['value', 'list', 'flag', 'count'] as const) {
    if (isOneOf(WYNG_OPTIONS[kind], key)) return kind;
  }
  return null;
};

/**
 * Reads the config file. `explicit` is the --config value (then the file must exist);
 * otherwise the default path is read if present. `accepted` are the long options the current
 * command takes: items for other options have no meaning for it and are left out, as they are
 * in Wyng, and listed in `unused`; items no Skiff command implements yet are noted.
 */
export function readConfig(explicit: string | undefined, accepted: ReadonlySet<string>, implemented: ReadonlySet<string>): ConfigResult {
  const path = explicit ?? DEFAULT_CONFIG_PATH;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (explicit === undefined && errnoOf(error) === 'ENOENT') return { args: [], notes: [], unused: [] };
    throw new InputError(`Cannot read config file '${path}': ${describeError(error)}`);
  }
  let section: Map<string, string> | undefined;
  try {
    section = parseIni(text).get(SECTION);
  } catch (error) {
    if (error instanceof IniSyntaxError) throw new InputError(`Config file '${path}': ${error.message}`);
    throw error;
  }
  return configArguments(section ?? new Map(), accepted, implemented);
}

export function configArguments(items: Map<string, string>, accepted: ReadonlySet<string>, implemented: ReadonlySet<string>): ConfigResult {
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
