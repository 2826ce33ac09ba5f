// Runs one command line: finds the command, applies the config file, parses the options with
// clipanion, runs the command, and turns every outcome into an exit code. This is the only
// place where errors become messages and exit codes (errors.ts has the table). Messages may
// quote the destination: they are printed inert (protocol/inert-text.ts), line breaks aside.

import { Cli, type CommandClass } from 'clipanion';
import { inert } from '../../protocol/inert-text.js';
import { describeError, ExitCode, InputError, SkiffError } from '../errors.js';
import { StoreError } from '../store/store.js';
import { RELEASE_LINE, VERSION } from '../version.js';
import { checkArguments, peekOption, splitCommand } from './argv.js';
import { AddCommand } from './commands/add.js';
import { ArchCheckCommand } from './commands/arch-check.js';
import { ArchDeduplicateCommand } from './commands/arch-deduplicate.js';
import { ArchInitCommand } from './commands/arch-init.js';
import { DeleteCommand } from './commands/delete.js';
import { DiffCommand } from './commands/diff.js';
import { ListCommand } from './commands/list.js';
import { MonitorCommand } from './commands/monitor.js';
import { PruneCommand } from './commands/prune.js';
import { ReceiveCommand } from './commands/receive.js';
import { RenameCommand } from './commands/rename.js';
import { SendCommand } from './commands/send.js';
import { VerifyCommand } from './commands/verify.js';
import { VersionCommand } from './commands/version.js';
import { type ConfigResult, defaultConfigPaths, readConfig } from './config-file.js';
import type { SkiffContext } from './context.js';
import { acceptedOptions, type HelpCatalog, helpCatalog, helpWidth, renderCommandHelp, renderGeneralHelp } from './help.js';
import { SkiffCommand } from './skiff-command.js';
import { closestName } from './suggest.js';
import { isWyngOption, undeclaredOption, WYNG_SHORTS } from './wyng-compat.js';

/** Every command, in the order the general help lists them. */
export const COMMANDS: readonly CommandClass<SkiffContext>[] = [
  ArchInitCommand,
  SendCommand,
  ListCommand,
  VerifyCommand,
  MonitorCommand,
  ReceiveCommand,
  DiffCommand,
  PruneCommand,
  DeleteCommand,
  RenameCommand,
  AddCommand,
  ArchCheckCommand,
  ArchDeduplicateCommand,
  VersionCommand,
];

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

export async function runCli(argv: readonly string[], context: SkiffContext): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    const { command, rest } = splitCommand(argv);
    const catalog = helpCatalog(COMMANDS);
    const width = helpWidth(context.stdout);
    if (command === null) {
      if (rest.includes('--version')) {
        context.stdout.write(`${RELEASE_LINE}\n`);
        return ExitCode.ok;
      }
      if (wantsHelp(rest)) {
        context.stdout.write(renderGeneralHelp(catalog, width));
        return ExitCode.ok;
      }
      throw new InputError("No command given; see 'skiff --help' for the commands.");
    }
    if (command === 'help') {
      // `skiff help [COMMAND]`: the first word after it that is not an option or its value.
      const topic = splitCommand(rest).command ?? undefined;
      const target = topic === undefined ? undefined : catalog.commands.get(topic);
      if (topic !== undefined && !target) throw unknownCommand(topic, catalog);
      context.stdout.write(target ? renderCommandHelp(catalog, target, width) : renderGeneralHelp(catalog, width));
      return ExitCode.ok;
    }
    const help = catalog.commands.get(command);
    if (!help) throw unknownCommand(command, catalog);
    if (wantsHelp(rest)) {
      context.stdout.write(renderCommandHelp(catalog, help, width));
      return ExitCode.ok;
    }
    const parsed = parseCommandLine(command, rest, context, catalog);
    for (const note of parsed.notes) say(context, note);
    const { instance, config } = parsed;
    if (instance instanceof SkiffCommand && (instance.verbose > 0 || instance.debug)) {
      if (config.path !== null)
        say(context, `Config file: ${config.path}${config.fallback ? ` (${defaultConfigPaths(context.env)[0]} does not exist)` : ''}`);
      for (const key of config.unused) say(context, `Config item not used by ${command}: ${key}`);
    }
    return await instance.validateAndExecute();
  } catch (error) {
    return reportError(error, context, debug);
  }
}

export interface ParsedCommandLine {
  instance: ReturnType<Cli<SkiffContext>['process']>;
  config: ConfigResult;
  /** Lines for stderr before the command runs: config-file notes, then Wyng options without effect. */
  notes: string[];
}

/**
 * The command `command` with its arguments `rest` (the command word taken out) and the config
 * file applied, parsed but not run. Wyng options the command does not declare are accepted
 * with a note each (wyng-compat.ts), or refused with Wyng's message.
 */
export function parseCommandLine(
  command: string,
  rest: readonly string[],
  context: SkiffContext,
  catalog: HelpCatalog = helpCatalog(COMMANDS),
): ParsedCommandLine {
  const accepted = acceptedOptions(catalog, command);
  const noEffect = new Map<string, string>();
  const args = checkArguments(command, rest, accepted, {
    longs: { has: isWyngOption },
    shorts: WYNG_SHORTS,
    handle: (name, value) => {
      if (!noEffect.has(name)) noEffect.set(name, undeclaredOption(command, name, value));
      return true;
    },
  });
  const implemented = new Set([...catalog.global, ...[...catalog.commands.values()].flatMap((c) => c.options)].map((o) => o.long));
  const config = readConfig(peekOption(rest, 'config'), new Set(accepted.map((o) => o.long)), implemented, defaultConfigPaths(context.env));
  const parser = commandCli(command);
  let instance: ReturnType<typeof parser.process>;
  try {
    instance = parser.process([command, ...config.args, ...args], context);
  } catch (error) {
    // What checkArguments lets through (a wrong number of operands): clipanion's first line.
    throw new InputError(`${firstLine(describeError(error))} See 'skiff ${command} --help'.`);
  }
  return { instance, config, notes: [...config.notes, ...noEffect.values()] };
}

/** `-h` or `--help` anywhere before `--`. */
function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((arg) => arg === '-h' || arg === '--help');
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .find((line) => line.trim() !== '')
      ?.trim() ?? text
  );
}

function unknownCommand(command: string, catalog: HelpCatalog): InputError {
  const guess = closestName(command, [...catalog.commands.keys(), 'help']);
  return new InputError(
    guess ? `Unknown command '${command}'; did you mean '${guess}'?` : `Unknown command '${command}'; see 'skiff --help' for the commands.`,
  );
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
