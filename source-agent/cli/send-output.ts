// How send shows its progress (behavior spec §4.9): unattended, a "Volume 'x'" line and a bar
// of 20 "|" filled as chunks are processed; on a terminal, one table row per volume redrawn in
// place. Then the summary line "N volumes, A——>B MB in S seconds."

import type { SendEvents, VolumeReport } from '../engine/send.js';

const MiB = 1024 * 1024;

export interface SendConsole {
  write(text: string): void;
  warn(text: string): void;
  interactive: boolean;
  columns: number;
}

/** Wyng's " 2.0" (Python's f"{x: 0.1f}": a space in place of the sign). */
function mb(bytes: number): string {
  return ` ${(bytes / MiB).toFixed(1)}`;
}

function seconds(s: number): string {
  const whole = Math.ceil(s);
  return whole >= 60 ? `${Math.floor(whole / 60)}m${whole % 60}s` : `${whole}s`;
}

export class SendOutput implements SendEvents {
  private readonly console: SendConsole;
  private rule = '—'.repeat(50);
  private bar: { shown: number; total: number } | null = null;
  private readonly started = performance.now();
  private readonly reports: VolumeReport[] = [];

  constructor(console: SendConsole) {
    this.console = console;
  }

  note(text: string): void {
    this.console.write(`${text}\n`);
  }

  warn(text: string): void {
    this.console.warn(text);
  }

  sending(session: string, dryRun: boolean, volumes: readonly string[]): void {
    const longest = Math.max(30, ...volumes.map((v) => v.length));
    this.rule = '—'.repeat(Math.min(longest, this.console.columns) + 20);
    this.console.write(`${dryRun ? '\nDry run (not sending):' : `\nSending backup session ${session}:`}\n${this.rule}\n`);
  }

  volumeStart(name: string, chunks: number): { update(done: number, storedBytes: number): void } {
    if (this.console.interactive) {
      const started = performance.now();
      let drawn = 0;
      this.console.write(`            |     | ${name}\r`);
      return {
        // Stored size, percentage and rate of stored bytes, at most ten times a second.
        update: (done, storedBytes) => {
          const now = performance.now();
          if (now - drawn < 100 && done < chunks) return;
          drawn = now;
          const percent = chunks === 0 ? 100 : Math.floor((100 * done) / chunks);
          const rate = storedBytes / MiB / Math.max(0.001, (now - started) / 1000);
          this.console.write(`\r${`${mb(storedBytes)}MB`.padStart(11)} | ${`${percent}%`.padStart(4)} ${rate.toFixed(0)} MB/s `);
        },
      };
    }
    this.console.write(`Volume '${name}'\n  [`);
    const bar = { shown: 0, total: chunks };
    this.bar = bar;
    return {
      update: (done) => {
        const bars = Math.floor((20 * done) / Math.max(1, bar.total));
        if (bars > bar.shown) this.console.write('|'.repeat(bars - bar.shown));
        bar.shown = Math.max(bar.shown, bars);
      },
    };
  }

  volumeEnd(report: VolumeReport): void {
    this.reports.push(report);
    const started = this.bar !== null;
    if (this.console.interactive) {
      if (report.outcome === 'failed') this.console.write(`\r      failed |  -  | ${report.name}\n`);
      else if (report.outcome === 'unchanged' && report.storedBytes === 0 && !started)
        this.console.write(`\r  no change |  -  | ${report.name}\n`);
      else
        this.console.write(
          `\r${`${mb(report.storedBytes)}MB`.padStart(11)} | ${seconds(report.seconds).padStart(3).padEnd(4)}| ${report.name}\n`,
        );
      return;
    }
    if (!started) {
      this.console.write(report.outcome === 'failed' ? `Volume '${report.name}'\n  failed\n` : `Volume '${report.name}'\n  no change\n`);
      return;
    }
    const bar = this.bar as { shown: number };
    this.bar = null;
    if (report.outcome === 'failed') {
      this.console.write('\n');
      return;
    }
    const suffix = report.outcome === 'unchanged' ? '  no change' : '';
    this.console.write(`${'|'.repeat(20 - bar.shown)}]  100% ${mb(report.storedBytes)}MB ${suffix}\n`);
  }

  /** Wyng's summary, shown when at least one volume went through the sending step. */
  summary(): void {
    const sent = this.reports.filter((r) => r.outcome === 'sent');
    if (sent.length === 0) return;
    const total = this.reports.reduce((sum, r) => sum + r.sizeBytes, 0);
    const stored = sent.reduce((sum, r) => sum + r.storedBytes, 0);
    const elapsed = (performance.now() - this.started) / 1000;
    this.console.write(
      `${this.rule}${this.console.interactive ? '' : ' '}\n${sent.length} volumes, ${Math.floor(total / MiB)}——>${Math.floor(stored / MiB)} MB in ${elapsed.toFixed(1)} seconds.\n`,
    );
  }
}
