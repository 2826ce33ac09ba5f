// The base of every command: the options all commands share, output set-up, opening the
// archive named by --dest, and questions to the user. Errors are not handled here: they
// propagate to main.ts, the one place that maps them to messages and exit codes.

import type { ReadStream } from 'node:tty';
import { Command } from 'clipanion';
import { Archive } from '../archive/archive.js';
import type { Output } from '../engine/output.js';
import { readLineFromTerminal } from '../sys/terminal.js';
import { RELEASE_LINE } from '../version.js';
import { ConsoleOutput } from './console-output.js';
import type { SkiffContext } from './context.js';
import { openDestination, parseDestUrl } from './dest-url.js';
import { formatUpdatedAt } from './format.js';
import { configOption, debugOption, destOption, passcmdOption, quietOption, unattendedOption, verboseOption } from './options.js';
import { readPassphrase } from './passphrase.js';

export abstract class SkiffCommand extends Command<SkiffContext> {
  dest = destOption();
  config = configOption();
  passcmd = passcmdOption();
  unattended = unattendedOption();
  quiet = quietOption();
  verbose = verboseOption();
  debug = debugOption();

  abstract run(): Promise<number>;

  async execute(): Promise<number> {
    return this.run();
  }

  /** Prompts are allowed: stdin is a terminal and neither -u nor --quiet was given (Wyng's rule). */
  get attended(): boolean {
    return !this.unattended && !this.quiet && Boolean((this.context.stdin as { isTTY?: boolean }).isTTY);
  }

  private outputCache: ConsoleOutput | undefined;

  /** The command's output; `quietApplies` is false for list and version, as in Wyng. */
  output(quietApplies = true): Output {
    this.outputCache ??= new ConsoleOutput({
      stdout: this.context.stdout,
      stderr: this.context.stderr,
      interactive: Boolean((this.context.stdout as { isTTY?: boolean }).isTTY) && !this.unattended,
      verbose: this.verbose > 0 || this.debug,
      quiet: quietApplies && this.quiet,
    });
    return this.outputCache;
  }

  banner(out: Output): void {
    out.line(RELEASE_LINE);
  }

  /** Opens the archive at --dest (asking for the passphrase if needed) and prints its header lines. */
  async openArchive(out: Output): Promise<Archive> {
    const dest = parseDestUrl(this.dest, this.context.cwd);
    const store = await openDestination(dest);
    const archive = await Archive.open(store, {
      passphrase: () => readPassphrase({ passcmd: this.passcmd, stdin: this.context.stdin, stderr: this.context.stderr }),
      now: this.context.now,
    });
    const journal = archive.ini.inProcess;
    if (journal.length > 0) out.warn(`** Prior operation in progress: ${journal[0]} ${journal[1] ?? ''}`);
    out.line(`${archive.encrypted ? 'Encrypted' : 'Un-encrypted'} archive '${dest.text}'`);
    out.line(`Last updated ${formatUpdatedAt(archive.ini.updatedAt)}`);
    return archive;
  }

  /** Asks a y/N question on the terminal; anything but y/yes is no. */
  async confirm(question: string): Promise<boolean> {
    this.context.stderr.write(question);
    const answer = await readLineFromTerminal(this.context.stdin as ReadStream);
    return /^(y|yes)$/i.test(answer.trim());
  }
}
