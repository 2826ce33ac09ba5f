// Wyng's grammar is `wyng [options] COMMAND [VOLUMES...] [options]`: options may come before the
// command. Clipanion wants the command first, so the command word is found and moved to the
// front; everything else keeps its order.

import { InputError } from '../errors.js';
import { itemAt } from '../lookup.js';
import { OPTION_ALIASES, PLACEHOLDERS, VALUE_OPTIONS } from './options.js';
import { closestName } from './suggest.js';

export interface SplitArgv {
  command: string | null;
  /** All other arguments, in their original order. */
  rest: string[];
}

export function splitCommand(argv: readonly string[]): SplitArgv {
  for (let i = 0; i < argv.length; i++) {
    const arg = itemAt(argv, i);
    if (arg === '--') break;
    if (arg.startsWith('--')) {
      const name = itemAt(arg.slice(2).split('=', 1), 0);
      if (!arg.includes('=') && VALUE_OPTIONS.has(name)) i++; // its value is the next argument
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) continue; // short flags (-a, -u, -d, -h) take no value
    return { command: arg, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { command: null, rest: [...argv] };
}

/** The value of a `--name` option anywhere in argv (before clipanion runs), or undefined. */
export function peekOption(argv: readonly string[], name: string): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = itemAt(argv, i);
    if (arg === '--') break;
    if (arg === `--${name}`) {
      const value = argv[i + 1];
      if (value === undefined) throw new InputError(`Option --${name} needs a value.`);
      found = value;
      i++;
    } else if (arg.startsWith(`--${name}=`)) {
      found = arg.slice(name.length + 3);
    }
  }
  return found;
}

/** What the argument check needs to know of each option a command accepts. */
export interface AcceptedOption {
  long: string;
  short: string | null;
  takesValue: boolean;
}

/**
 * A Wyng option the command does not declare (long name without dashes, and its value if it
 * takes one): returns true if it is handled (accepted and left out of the result), false to
 * refuse it as unknown. May throw to refuse it with a message of its own.
 */
export type UndeclaredHandler = (name: string, value: string | undefined) => boolean;

/**
 * Checks a command's arguments before clipanion sees them, because clipanion's messages for
 * these mistakes are misleading ("Command not found; did you mean one of:" and an empty list):
 * an unknown option, a value option without its value, a flag given a value. Returns the
 * arguments with `--opt value` joined into `--opt=value`, which clipanion reads unambiguously
 * (also `--authmin -1`, which argparse, and so Wyng, takes as a value).
 */
export function checkArguments(
  command: string,
  args: readonly string[],
  accepted: readonly AcceptedOption[],
  undeclared: { longs: { has(name: string): boolean }; shorts: Readonly<Record<string, string>>; handle: UndeclaredHandler } | null = null,
): string[] {
  const byLong = new Map(accepted.map((o) => [o.long, o]));
  const shorts = new Set(accepted.flatMap((o) => (o.short ? [o.short] : [])));
  const unknown = (name: string, candidates: Iterable<string>) => {
    const guess = closestName(name, candidates);
    const hint = guess ? `did you mean '${guess}'?` : `see 'skiff ${command} --help'.`;
    return new InputError(`Unknown option '${name}' for ${command}; ${hint}`);
  };
  const result: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = itemAt(args, i);
    if (arg === '--') {
      result.push(...args.slice(i));
      break;
    }
    if (arg.startsWith('--')) {
      const equals = arg.indexOf('=');
      const name = equals < 0 ? arg.slice(2) : arg.slice(2, equals);
      const option = byLong.get(name) ?? byLong.get(OPTION_ALIASES[name] ?? '');
      if (!option && undeclared?.longs.has(name)) {
        const takesValue = VALUE_OPTIONS.has(name);
        if (!takesValue && equals >= 0) throw new InputError(`Option --${name} takes no value.`);
        let value: string | undefined;
        if (takesValue && equals >= 0) value = arg.slice(equals + 1);
        else if (takesValue) {
          value = args[i + 1];
          if (value === undefined || (value.startsWith('-') && value !== '-' && !/^-[0-9]/.test(value)))
            throw new InputError(`Option --${name} needs a value: --${name}=${PLACEHOLDERS[name] ?? 'VALUE'}.`);
          i++;
        }
        if (undeclared.handle(name, value)) continue;
      }
      if (!option)
        throw unknown(
          `--${name}`,
          [...byLong.keys()].map((long) => `--${long}`),
        );
      if (!option.takesValue) {
        if (equals >= 0) throw new InputError(`Option --${name} takes no value.`);
        result.push(arg);
      } else if (equals >= 0) {
        result.push(arg);
      } else {
        const value = args[i + 1];
        // As in argparse: a following option is not a value, a negative number is.
        if (value === undefined || (value.startsWith('-') && value !== '-' && !/^-[0-9]/.test(value)))
          throw new InputError(`Option --${name} needs a value: --${name}=${PLACEHOLDERS[name] ?? 'VALUE'}.`);
        result.push(`--${name}=${value}`);
        i++;
      }
    } else if (arg.startsWith('-') && arg.length > 1 && !/^-[0-9]/.test(arg)) {
      let kept = '';
      for (const letter of arg.slice(1)) {
        if (shorts.has(letter)) kept += letter;
        else if (undeclared?.shorts[letter] !== undefined && undeclared.handle(undeclared.shorts[letter], undefined)) continue;
        else throw unknown(`-${letter}`, []);
      }
      if (kept !== '') result.push(`-${kept}`);
    } else {
      result.push(arg);
    }
  }
  return result;
}
