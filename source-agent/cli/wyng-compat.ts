// Wyng options a Skiff command does not declare. Wyng's argparse takes every option on every
// command and ignores what a command does not use, and scripts (wyng-util-qubes among them)
// rely on that: `--local` on list, `--force` on prune, `--tar-bypass` everywhere. Skiff accepts
// such an option too, but never silently: it prints one line saying it has no effect and why.
// A few are refused instead, where ignoring them would do something other than what was asked
// (Wyng's own refusals, and options whose absence changes which volumes a run touches).

import { InputError } from '../errors.js';
import { OPTION_ALIASES, WYNG_OPTIONS } from './options.js';

/** Wyng's one-letter options and their long names (-u is global in Skiff, -h is help). */
export const WYNG_SHORTS: Readonly<Record<string, string>> = { a: 'all', d: 'dedup', u: 'unattended' };

const ALL_WYNG_OPTIONS: ReadonlySet<string> = new Set([
  ...WYNG_OPTIONS.value,
  ...WYNG_OPTIONS.list,
  ...WYNG_OPTIONS.flag,
  ...WYNG_OPTIONS.count,
  ...Object.keys(OPTION_ALIASES),
]);

/** Options no Skiff command has, with why they are not needed (any command). */
const NOWHERE: Readonly<Record<string, string>> = {
  'tar-bypass': 'Skiff always writes chunk files through its destination helper',
  maxsync: 'Skiff already syncs every file it writes before the archive refers to it',
  'meta-reduce': 'Skiff keeps no decoded manifests in its metadata directory',
  'purge-tmp': 'Skiff leaves no temporary directory behind',
  'upgrade-format': 'Skiff does not convert Wyng V2 archives (use Wyng 0.8 for that)',
};

/** Options Wyng uses on a command where Skiff does not, with the reason (command → option → why). */
const ON_COMMAND: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  prune: { force: 'prune asks only on a terminal without -u, and Wyng has no --force for it either' },
  'arch-init': { 'force-retry': 'a new archive has no interrupted operation to retry' },
};

/** Commands that take --vols-from/--local-from in Wyng. */
const VOLS_FROM_COMMANDS = new Set(['send', 'monitor', 'receive', 'verify', 'diff']);

/** Whether `name` (without dashes) is one of Wyng's long options. */
export function isWyngOption(name: string): boolean {
  return ALL_WYNG_OPTIONS.has(name);
}

/** Why a Wyng option has no effect anywhere in Skiff, or undefined if some command uses it. */
export function nowhereReason(name: string): string | undefined {
  return NOWHERE[name];
}

/**
 * What to do with Wyng option `name` (long, without dashes) given to `command`, which does not
 * declare it: a one-line note to print, or an error (a refusal). `value` is checked where Wyng
 * checks it even though the option does nothing (--meta-reduce).
 */
export function undeclaredOption(command: string, name: string, value: string | undefined): string {
  const long = OPTION_ALIASES[name] ?? name;
  if (long === 'save-to') throw new InputError('Receive required for save-to option.');
  // The commands of VOLS_FROM_COMMANDS all declare it; any other refuses it as Wyng does.
  if (long === 'vols-from' && !VOLS_FROM_COMMANDS.has(command)) throw new InputError(`vols-from cannot be used with ${command}`);
  if (long === 'meta-reduce' && !/^(off|on|extra):[0-9]+$/.test(value ?? '')) throw new InputError('Malformed --meta-reduce argument.');
  const reason = ON_COMMAND[command]?.[long] ?? NOWHERE[long] ?? 'Wyng ignores it there too';
  return `--${name} has no effect on ${command}: ${reason}.`;
}
