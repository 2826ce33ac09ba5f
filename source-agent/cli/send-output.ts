// How send shows its progress (behavior spec §4.9), through the console's one progress renderer
// (progress-row.ts). Unattended: a "Volume 'x'" line and Wyng's bar of 20 "|" filled as chunks
// are processed, closed by "]  100%  1.0MB ". On a terminal: one row per volume, live while it is
// sent (stored MB, percentage, rate, ETA, name) and replaced by Wyng's table row when it ends
// ("      1.0MB |  1s | name"). Then the summary "N volumes, A——>B MB in S seconds.", S counted
// from the command's start (passphrase, key derivation and prompts included, as in Wyng).

import type { SendEvents, VolumeReport } from '../engine/send/send.js';
import type { BarHandle, RowHandle } from './console-output.js';
import { megabytes } from './progress-row.js';

const MiB = 1024 * 1024;

/** What send's display needs of the console (ConsoleOutput). */
export interface SendConsole {
  write(text: string): void;
  warn(text: string): void;
  readonly interactive: boolean;
  readonly columns: number;
  startRow(spec: { label: string; total: number; totalBytes: number }): RowHandle;
  startBar(total: number, opening: string): BarHandle;
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
  private row: RowHandle | null = null;
  private bar: BarHandle | null = null;
  /** performance.now() when the command started. */
  private readonly started: number;
  private readonly reports: VolumeReport[] = [];

  constructor(console: SendConsole, started: number) {
    this.console = console;
    this.started = started;
  }

  note(text: string): void {
    this.console.write(`${text}\n`);
  }

  warn(text: string): void {
    this.console.warn(text);
  }

  sending(session: string, dryRun: boolean, volumes: readonly string[]): void {
    const longest = Math.max(30, ...volumes.map((v) => v.length));
    const width = Math.min(longest, this.console.columns) + 20;
    // On a terminal the rule must not wrap.
    this.rule = '—'.repeat(this.console.interactive ? Math.min(width, this.console.columns - 1) : width);
    this.console.write(`${dryRun ? '\nDry run (not sending):' : `\nSending backup session ${session}:`}\n${this.rule}\n`);
  }

  volumeStart(name: string, chunks: number, bytes: number): { update(done: number, storedBytes: number): void } {
    if (this.console.interactive) {
      const row = this.console.startRow({ label: name, total: chunks, totalBytes: bytes });
      this.row = row;
      return { update: (done, storedBytes) => row.update(done, storedBytes) };
    }
    this.console.write(`Volume '${name}'\n`);
    const bar = this.console.startBar(chunks, '  [');
    this.bar = bar;
    return { update: (done) => bar.update(done) };
  }

  volumeEnd(report: VolumeReport): void {
    this.reports.push(report);
    if (this.console.interactive) {
      const row = this.row;
      this.row = null;
      const text =
        report.outcome === 'failed'
          ? `      failed |  -  | ${report.name}`
          : report.outcome === 'unchanged' && report.storedBytes === 0
            ? `  no change |  -  | ${report.name}`
            : `${megabytes(report.storedBytes)} | ${seconds(report.seconds).padStart(3).padEnd(4)}| ${report.name}`;
      if (row) row.finish(text);
      else this.console.write(`${text}\n`);
      return;
    }
    const bar = this.bar;
    this.bar = null;
    if (!bar) {
      this.console.write(report.outcome === 'failed' ? `Volume '${report.name}'\n  failed\n` : `Volume '${report.name}'\n  no change\n`);
      return;
    }
    if (report.outcome === 'failed') {
      bar.abandon();
      return;
    }
    const suffix = report.outcome === 'unchanged' ? '  no change' : '';
    bar.finish(`]  100% ${mb(report.storedBytes)}MB ${suffix}\n`);
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
