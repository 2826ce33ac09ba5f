// Wyng's grammar is `wyng [options] COMMAND [VOLUMES...] [options]`: options may come before the
// command. Clipanion wants the command first, so the command word is found and moved to the
// front; everything else keeps its order.

import { InputError } from '../errors.js';
import { VALUE_OPTIONS } from './options.js';

export interface SplitArgv {
  command: string | null;
  /** All other arguments, in their original order. */
  rest: string[];
}

export function splitCommand(argv: readonly string[]): SplitArgv {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') break;
    if (arg.startsWith('--')) {
      const name = arg.slice(2).split('=', 1)[0] as string;
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
    const arg = argv[i] as string;
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
