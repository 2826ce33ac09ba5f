// The engine's Output on a console, and the owner of the one progress display open at a time
// (cli/progress-row.ts draws it). Unattended, progress is Wyng's appended bar:
// "[||||||||||||||||||||] 100% : OK ". On a terminal it is a row redrawn in place; anything else
// printed meanwhile (a warning) first takes the row off the screen and then draws it again below,
// and when the command ends early (an error, an interrupt) the row is cleared, so the message
// that follows starts on a line of its own.
// Everything printed passes inert() (protocol/inert-text.ts) as a last line of defence: text
// from the destination is escaped where it enters our messages, and whatever was missed still
// cannot reach the terminal as a control. Only our own layout survives: line breaks, the
// carriage return of a redrawn bar, and the renderers' own sequences, which reach the terminal
// through raw(): a row's clearing sequence passes, the row's text is escaped.

import { inert } from '../../protocol/inert-text.js';
import type { Output, Progress, ProgressSpec } from '../engine/output.js';
import { terminalColumns } from '../sys/terminal.js';
import { AppendedBar, BAR_STEPS, CLEAR_ROW, LiveRow, type RowSpec } from './progress-row.js';

export interface ConsoleOptions {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** stdout is a terminal: progress is redrawn in place. */
  interactive: boolean;
  verbose: boolean;
  /** --quiet: nothing on stdout. */
  quiet: boolean;
}

/** A progress display opened by `startRow` or `startBar`; `finish` and `abandon` close it. */
export interface RowHandle {
  update(done: number, bytes?: number): void;
  /** Replaces the row with `text` (a whole line, without its line end). */
  finish(text: string): void;
  /** Clears the row. */
  abandon(): void;
}

export interface BarHandle {
  update(done: number): void;
  /** Fills the bar and writes `closing`, which ends the line. */
  finish(closing: string): void;
  /** Ends the line where the bar stopped. */
  abandon(): void;
}

export class ConsoleOutput implements Output {
  readonly verbose: boolean;
  readonly interactive: boolean;
  private readonly options: ConsoleOptions;
  private open: { kind: 'row'; row: LiveRow } | { kind: 'bar'; bar: AppendedBar } | null = null;

  constructor(options: ConsoleOptions) {
    this.options = options;
    this.verbose = options.verbose;
    this.interactive = options.interactive;
  }

  /** The terminal's width: 80 when unknown (not a terminal, or one that says 0, as `script` may). */
  get columns(): number {
    return terminalColumns(this.options.stdout) || 80;
  }

  line(text = ''): void {
    this.aside(() => this.raw(`${inert(text, '\n')}\n`));
  }

  write(text: string): void {
    this.raw(inert(text, '\n\r'));
  }

  /** Our own layout, unescaped: only the progress renderers use it. */
  private raw(text: string): void {
    if (!this.options.quiet) this.options.stdout.write(text);
  }

  warn(text: string): void {
    this.aside(() => this.options.stderr.write(`${inert(text, '\n')}\n`));
  }

  /** Prints around the open row: off the screen while `print` runs, then drawn again. */
  private aside(print: () => void): void {
    const open = this.open;
    if (open?.kind !== 'row') {
      print();
      return;
    }
    open.row.hide();
    print();
    open.row.show();
  }

  /** A row redrawn in place (on a terminal only). */
  startRow(spec: RowSpec): RowHandle {
    this.close();
    const output = this;
    // The width is read at every draw: a resized window gets rows that fit it.
    const sink = {
      // The row's own clearing sequence is the one control that passes; its text is escaped.
      write: (text: string) =>
        output.raw(text.startsWith(CLEAR_ROW) ? CLEAR_ROW + inert(text.slice(CLEAR_ROW.length), '\n') : inert(text, '\n\r')),
      get columns() {
        return output.columns;
      },
    };
    const row = new LiveRow(sink, spec);
    const entry = { kind: 'row' as const, row };
    this.open = entry;
    const closing = (action: () => void) => {
      if (this.open !== entry) return;
      this.open = null;
      action();
    };
    return {
      update: (done, bytes) => {
        if (this.open === entry) row.update(done, bytes);
      },
      finish: (text) => closing(() => row.finish(text)),
      abandon: () => closing(() => row.hide()),
    };
  }

  /** Wyng's appended bar: `opening`, then one "|" per 5 %. */
  startBar(total: number, opening: string): BarHandle {
    this.close();
    const bar = new AppendedBar((text) => this.write(text), total, opening);
    const entry = { kind: 'bar' as const, bar };
    this.open = entry;
    const closing = (action: () => void) => {
      if (this.open !== entry) return;
      this.open = null;
      action();
    };
    return {
      update: (done) => {
        if (this.open === entry) bar.update(done);
      },
      finish: (text) => closing(() => bar.finish(text)),
      abandon: () => closing(() => bar.abandon()),
    };
  }

  /** The engine's progress (receive, verify): the row, or the bar closed by "] 100% " + suffix. */
  progress(spec: ProgressSpec): Progress {
    if (this.interactive) {
      const row = this.startRow(spec);
      return {
        update: (done) => row.update(done),
        end: (suffix) => row.finish(`[${'|'.repeat(BAR_STEPS)}] 100% ${suffix}`),
        abandon: () => row.abandon(),
      };
    }
    const bar = this.startBar(spec.total, '[');
    return {
      update: (done) => bar.update(done),
      end: (suffix) => bar.finish(`] 100% ${suffix}\n`),
      abandon: () => bar.abandon(),
    };
  }

  /** The command ends: a progress display still open is cleared (row) or its line ended (bar). */
  close(): void {
    const open = this.open;
    this.open = null;
    if (open?.kind === 'row') open.row.hide();
    else if (open?.kind === 'bar') open.bar.abandon();
  }
}
