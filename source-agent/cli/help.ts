// Skiff's help screens, modelled on restic's: one header, real placeholders (`--dest=URL`), the
// options every command shares listed once (in the general help) and only named in a
// command's help, an example per command, text wrapped at word boundaries to the terminal.
// Clipanion's own renderer cannot do this (it prints `#0`, every shared option in every
// synopsis, and breaks paragraphs), so help is rendered here from the same sources clipanion
// parses with: each command's Command.Usage, its `operands`, and its Option definitions. The
// only table it adds is the placeholder of each value option (options.ts: clipanion has no such field).

import { Cli, Command, type CommandClass } from 'clipanion';
import { isTerminal, terminalColumns } from '../sys/terminal.js';
import { RELEASE_LINE } from '../version.js';
import type { SkiffContext } from './context.js';
import { PLACEHOLDERS } from './options.js';
import { SkiffCommand } from './skiff-command.js';

export interface OptionHelp {
  /** Without the dashes: `dest`. */
  long: string;
  /** The one-letter form, without the dash, if there is one. */
  short: string | null;
  takesValue: boolean;
  description: string;
}

export interface CommandHelp {
  name: string;
  summary: string;
  /** What follows `skiff NAME [OPTIONS]` in the usage line: `[VOLUME...]`, `OLD NEW`. */
  operands: string;
  details: string;
  examples: ReadonlyArray<readonly [string, string]>;
  /** Its own options: the global ones are left out. */
  options: OptionHelp[];
}

/** A command with exactly the options every command has (SkiffCommand's): the global options. */
class GlobalOptions extends SkiffCommand {
  static override paths = [['global-options']];
  static override usage = Command.Usage({ description: 'The options every command takes.' });
  async run(): Promise<number> {
    return 0;
  }
}

/** Options as clipanion defines them for one command (its definition text is `-a,--all` or `--dest #0`). */
function definedOptions(command: CommandClass<SkiffContext>): OptionHelp[] {
  const cli = new Cli<SkiffContext>();
  cli.register(command);
  const [definition] = cli.definitions();
  // Clipanion lists an option without a description only in the synopsis: it would be missing
  // from the help and refused by the argument check.
  if (!definition || /\[-/.test(definition.usage)) throw new Error(`${command.name}: an option without a description, or no usage`);
  return definition.options.map((option) => {
    const long = option.definition.match(/--([a-z][a-z-]*)/)?.[1];
    if (long === undefined) throw new Error(`option without a long name: ${option.definition}`);
    return {
      long,
      short: option.definition.match(/(?:^|,)-([a-zA-Z])\b/)?.[1] ?? null,
      takesValue: /#\d/.test(option.definition),
      description: option.description ?? '',
    };
  });
}

export interface HelpCatalog {
  commands: Map<string, CommandHelp>;
  global: OptionHelp[];
}

/** The help of the given commands, from their clipanion definitions. */
export function helpCatalog(commands: readonly CommandClass<SkiffContext>[]): HelpCatalog {
  const global = definedOptions(GlobalOptions);
  const isGlobal = new Set(global.map((o) => o.long));
  const result = new Map<string, CommandHelp>();
  for (const command of commands) {
    const name = command.paths?.[0]?.[0];
    if (name === undefined) continue;
    const operands = 'operands' in command ? command.operands : undefined;
    result.set(name, {
      name,
      summary: oneParagraph(command.usage?.description ?? ''),
      operands: typeof operands === 'string' ? operands : '',
      details: command.usage?.details ?? '',
      examples: (command.usage?.examples ?? []).map(([title, line]) => [oneParagraph(title), line.trim()] as const),
      options: definedOptions(command).filter((o) => !isGlobal.has(o.long)),
    });
  }
  return { commands: result, global };
}

/** Every option a command accepts (its own and the global ones). */
export function acceptedOptions(catalog: HelpCatalog, command: string): OptionHelp[] {
  return [...catalog.global, ...(catalog.commands.get(command)?.options ?? [])];
}

/** The option as written on a command line: `--dest=URL` or `--all`. */
export function optionSyntax(option: OptionHelp): string {
  return option.takesValue ? `--${option.long}=${PLACEHOLDERS[option.long] ?? 'VALUE'}` : `--${option.long}`;
}

/** The width to wrap help to: the terminal's, or 80 when output is not a terminal. */
export function helpWidth(stdout: unknown): number {
  if (typeof stdout !== 'object' || stdout === null) return 80;
  const columns = terminalColumns(stdout);
  return isTerminal(stdout) && columns ? Math.max(40, columns) : 80;
}

export function renderGeneralHelp(catalog: HelpCatalog, width: number): string {
  const commands = [...catalog.commands.values()];
  const out = [
    RELEASE_LINE,
    '',
    ...wrap('Fast incremental backups of logical volumes and disk images into Wyng V3 archives.', width),
    '',
    'Usage:',
    '  skiff [OPTIONS] COMMAND [VOLUME...] [OPTIONS]',
    '',
    ...wrap('Options may come before or after the command, as --opt=value or --opt value.', width),
    '',
    'Commands:',
    ...table(
      [...commands.map((c) => [c.name, c.summary] as const), ['help', 'Show the help of a command: skiff help COMMAND.'] as const],
      width,
    ),
    '',
    'Global options (every command takes them):',
    ...optionTable(catalog.global, width),
    '',
    'Example:',
    '  skiff --dest=file:/mnt/backup --local=/var/lib/images send work.img mail.img',
    '',
    ...wrap("Run 'skiff help COMMAND' or 'skiff COMMAND --help' for a command's options and examples.", width),
  ];
  return `${out.join('\n')}\n`;
}

export function renderCommandHelp(catalog: HelpCatalog, command: CommandHelp, width: number): string {
  const out = [RELEASE_LINE, '', ...wrap(command.summary, width), '', 'Usage:', `  ${usageLine(command)}`];
  for (const paragraph of paragraphs(command.details)) out.push('', ...wrap(paragraph, width));
  if (command.options.length > 0) out.push('', 'Options:', ...optionTable(command.options, width));
  out.push('', "Global options (see 'skiff --help'):", ...wrap(catalog.global.map(optionSyntax).join(', '), width, '  '));
  if (command.examples.length > 0) {
    out.push('', command.examples.length === 1 ? 'Example:' : 'Examples:');
    for (const [title, line] of command.examples) out.push(...wrap(title, width, '  # '), `  ${line}`);
  }
  return `${out.join('\n')}\n`;
}

function usageLine(command: CommandHelp): string {
  return ['skiff', command.name, '[OPTIONS]', command.operands].filter((part) => part !== '').join(' ');
}

/** Two columns: names, and descriptions wrapped beside them (or below a name too long for the column). */
function table(rows: ReadonlyArray<readonly [string, string]>, width: number): string[] {
  const column = Math.min(30, Math.max(...rows.map(([name]) => name.length)) + 4);
  const lines: string[] = [];
  for (const [name, description] of rows) {
    const left = `  ${name}`;
    const wrapped = wrap(description, width, ' '.repeat(column));
    if (left.length + 2 <= column) {
      lines.push(left.padEnd(column) + (wrapped[0] ?? '').trimStart(), ...wrapped.slice(1));
    } else {
      lines.push(left, ...wrapped);
    }
  }
  return lines;
}

function optionTable(options: readonly OptionHelp[], width: number): string[] {
  return table(
    options.map((o) => [`${o.short ? `-${o.short}, ` : '    '}${optionSyntax(o)}`, o.description] as const),
    width,
  );
}

/** Text as paragraphs (separated by blank lines), each on one line. */
function paragraphs(text: string): string[] {
  return text
    .split(/\n\s*\n/)
    .map(oneParagraph)
    .filter((p) => p !== '');
}

function oneParagraph(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Greedy word wrap: lines of at most `width` columns (a single longer word stands alone). */
export function wrap(text: string, width: number, indent = ''): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of oneParagraph(text).split(' ')) {
    if (word === '') continue;
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}
