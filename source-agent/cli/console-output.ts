// The engine's Output on a console. Progress follows Wyng: on a terminal a bar redrawn in place
// ("[|||||.....] 25.0% "), otherwise one "|" per 5% appended as work proceeds, so logs stay
// readable: "[||||||||||||||||||||] 100% : OK ".
// Everything printed passes inert() (protocol/inert-text.ts) as a last line of defence: text
// from the destination is escaped where it enters our messages, and whatever was missed still
// cannot reach the terminal as a control. Only our own layout survives: line breaks, and the
// carriage return of redrawn progress (write() only). A fixed control sequence of our own
// (say, erase-line) would need a method that bypasses this.

import { inert } from '../../protocol/inert-text.js';
import type { Output, Progress } from '../engine/output.js';

const BAR_WIDTH = 20;

export interface ConsoleOptions {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** stdout is a terminal: progress is redrawn in place. */
  interactive: boolean;
  verbose: boolean;
  /** --quiet: nothing on stdout. */
  quiet: boolean;
}

export class ConsoleOutput implements Output {
  readonly verbose: boolean;
  private readonly options: ConsoleOptions;

  constructor(options: ConsoleOptions) {
    this.options = options;
    this.verbose = options.verbose;
  }

  line(text = ''): void {
    this.write(`${inert(text, '\n')}\n`);
  }

  write(text: string): void {
    if (!this.options.quiet) this.options.stdout.write(inert(text, '\n\r'));
  }

  warn(text: string): void {
    this.options.stderr.write(`${inert(text, '\n')}\n`);
  }

  progress(total: number): Progress {
    return this.options.interactive ? this.redrawnBar(total) : this.appendedBar(total);
  }

  private appendedBar(total: number): Progress {
    let shown = 0;
    this.write('[');
    const fill = (bars: number) => {
      if (bars > shown) this.write('|'.repeat(bars - shown));
      shown = Math.max(shown, bars);
    };
    return {
      update: (done) => fill(Math.floor((BAR_WIDTH * done) / Math.max(1, total))),
      end: (suffix) => {
        fill(BAR_WIDTH);
        this.write(`] 100% ${suffix}\n`);
      },
      abandon: () => this.write('\n'),
    };
  }

  private redrawnBar(total: number): Progress {
    let lastDraw = 0;
    const draw = (done: number) => {
      const ratio = total === 0 ? 1 : done / total;
      const bars = Math.floor(BAR_WIDTH * ratio);
      this.write(`\r[${'|'.repeat(bars)}${'.'.repeat(BAR_WIDTH - bars)}] ${(ratio * 100).toFixed(1)}% `);
    };
    draw(0);
    return {
      update: (done) => {
        const now = Date.now();
        if (now - lastDraw < 100 && done < total) return;
        lastDraw = now;
        draw(done);
      },
      end: (suffix) => this.write(`\r[${'|'.repeat(BAR_WIDTH)}] 100% ${suffix}\n`),
      abandon: () => this.write('\n'),
    };
  }
}
