// Runs one command line: finds the command, applies the config file, parses the options with
// clipanion, runs the command, and turns every outcome into an exit code. This is the only
// place where errors become messages and exit codes (errors.ts has the table). Messages may
// quote the destination: they are printed inert (protocol/inert-text.ts), line breaks aside.

import { Cli, type CommandClass } from 'clipanion';
import { inert } from '../../protocol/inert-text.js';
import { describeError, ExitCode, InputError, SkiffError } from '../errors.js';
import { StoreError } from '../store/store.js';
import { RELEASE_LINE, VERSION } from '../version.js';
import { peekOption, splitCommand } from './argv.js';
import { AddCommand } from './commands/add.js';
import { ArchCheckCommand } from './commands/arch-check.js';
import { ArchDeduplicateCommand } from './commands/arch-deduplicate.js';
import { ArchInitCommand } from './commands/arch-init.js';
import { DeleteCommand } from './commands/delete.js';
import { ListCommand } from './commands/list.js';
import { PruneCommand } from './commands/prune.js';
import { ReceiveCommand } from './commands/receive.js';
import { RenameCommand } from './commands/rename.js';
import { SendCommand } from './commands/send.js';
import { VerifyCommand } from './commands/verify.js';
import { VersionCommand } from './commands/version.js';
import { readConfig } from './config-file.js';
import type { SkiffContext } from './context.js';
import { VALUE_OPTIONS } from './options.js';

export const COMMANDS: readonly CommandClass<SkiffContext>[] = [
  VersionCommand,
  ArchInitCommand,
  SendCommand,
  ListCommand,
  VerifyCommand,
  ReceiveCommand,
  ArchCheckCommand,
  ArchDeduplicateCommand,
  DeleteCommand,
  RenameCommand,
  AddCommand,
  PruneCommand,
];

/** Wyng commands that Skiff does not have yet, so that they get a precise message. */
const LATER_COMMANDS = ['monitor', 'diff'];

function makeCli(commands: readonly CommandClass<SkiffContext>[] = COMMANDS): Cli<SkiffContext> {
  const cli = new Cli<SkiffContext>({ binaryName: 'skiff', binaryLabel: 'Skiff', binaryVersion: VERSION, enableColors: false });
  for (const command of commands) cli.register(command);
  return cli;
}

/**
 * A parser that knows only the command given: clipanion compiles a state machine from every
 * registered command on each process() call, which for all twelve costs ~50 ms of start-up.
 */
function commandCli(command: string): Cli<SkiffContext> {
  return makeCli(COMMANDS.filter((c) => c.paths?.some((path) => path[0] === command)));
}

/**
 * Option names each command accepts, from clipanion's own definitions: long names without
 * "--", short ones as "-x".
 */
function optionNames(cli: Cli<SkiffContext>): Map<string, Set<string>> {
  const result = new Map<string, Set<string>>();
  for (const definition of cli.definitions()) {
    const command = definition.path.split(' ').at(-1) as string;
    const names = new Set<string>(['help', '-h']);
    for (const option of definition.options) {
      for (const m of option.definition.matchAll(/(?:^|[ ,])(--[a-z][a-z-]*|-[a-zA-Z])\b/g)) {
        const name = m[1] as string;
        names.add(name.startsWith('--') ? name.slice(2) : name);
      }
    }
    result.set(command, names);
  }
  return result;
}

/** Clipanion's message for an unknown option is misleading ("Command not found"); check first. */
function checkOptionNames(command: string, args: readonly string[], accepted: ReadonlySet<string>): void {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') return;
    if (arg.startsWith('--')) {
      const name = arg.slice(2).split('=', 1)[0] as string;
      if (!accepted.has(name)) throw new InputError(`Unknown option '--${name}' for ${command}.`);
      if (!arg.includes('=') && VALUE_OPTIONS.has(name)) i++; // skip its value
    } else if (arg.startsWith('-') && arg.length > 1) {
      for (const letter of arg.slice(1)) {
        if (!accepted.has(`-${letter}`)) throw new InputError(`Unknown option '-${letter}' for ${command}.`);
      }
    }
  }
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .find((line) => line.trim() !== '')
      ?.trim() ?? text
  );
}

export async function runCli(argv: readonly string[], context: SkiffContext): Promise<number> {
  const cli = makeCli();
  const debug = argv.includes('--debug');
  try {
    const { command, rest } = splitCommand(argv);
    if (command === null) {
      if (rest.includes('-h') || rest.includes('--help')) {
        context.stdout.write(`${RELEASE_LINE}\n\n${cli.usage(null)}`);
        return ExitCode.ok;
      }
      throw new InputError(`No command given. Commands: ${COMMANDS.map((c) => c.paths?.[0]?.[0]).join(', ')}.`);
    }
    const accepted = optionNames(cli);
    const own = accepted.get(command);
    if (!own) {
      if (LATER_COMMANDS.includes(command)) throw new InputError(`Command '${command}' is not available in this version of Skiff.`);
      throw new InputError(`Unknown command '${command}'.`);
    }
    const implemented = new Set([...accepted.values()].flatMap((names) => [...names]));
    checkOptionNames(command, rest, own);
    const config = readConfig(peekOption(rest, 'config'), own, implemented);
    for (const note of config.notes) say(context, note);
    const parser = commandCli(command);
    let instance: ReturnType<typeof parser.process>;
    try {
      instance = parser.process([command, ...config.args, ...rest], context);
    } catch (error) {
      throw new InputError(firstLine(describeError(error)));
    }
    if (instance.help || instance.constructor.name === 'HelpCommand') {
      // `skiff COMMAND --help`: the command's own usage (clipanion's HelpCommand needs cli.run's set-up).
      const target = instance.help ? instance : parser.process([command], context);
      context.stdout.write(`${RELEASE_LINE}\n\n${parser.usage(target, { detailed: true })}`);
      return ExitCode.ok;
    }
    return await instance.validateAndExecute();
  } catch (error) {
    return reportError(error, context, debug);
  }
}

/** One message on stderr, inert but for its line breaks. */
function say(context: SkiffContext, text: string): void {
  context.stderr.write(`${inert(text, '\n')}\n`);
}

function reportError(error: unknown, context: SkiffContext, debug: boolean): number {
  if (error instanceof StoreError) {
    // The destination refused an operation (full, read-only, permissions, I/O error).
    say(context, `Destination error: ${error.message}`);
    if (debug && error.stack) say(context, error.stack);
    return ExitCode.destinationNotReady;
  }
  if (error instanceof SkiffError) {
    say(context, error.message);
    if (debug && error.stack) say(context, error.stack);
    return error.exitCode;
  }
  // Not an expected failure: a bug. Say so, with the stack, so it can be reported.
  say(context, `Internal error: ${describeError(error)}`);
  if (error instanceof Error && error.stack) say(context, error.stack);
  return ExitCode.fatal;
}
