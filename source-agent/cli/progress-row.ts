// The one progress renderer of every command (send, receive, verify).
//
// On a terminal: one row per volume, redrawn in place at most ten times a second:
//        12.3MB |  45%  12.5 MB/s  ETA 0:03 | appvms/work.img
// (stored MB for send, restored MB for receive; the percentage, rate and ETA of the volume's
// chunks). Every draw starts with "\r" and ESC[K (erase to the end of the line), so a shorter row
// never leaves characters of a longer one behind, and the finished row replaces the live one the
// same way. The row is fitted to the window (the volume name loses its beginning, "…"): a row
// that wrapped could not be redrawn with "\r". A small renderer of our own rather than a library:
// all it needs is "\r", ESC[K and a display width, and the unattended output below must stay
// Wyng's byte for byte.
//
// Unattended (not a terminal, or -u): Wyng's appended bar, "[" and then one "|" per 5 % as work
// proceeds, which logs keep readable and wrapper scripts parse.

import { itemAt } from '../lookup.js';

const MiB = 1024 * 1024;
/** "|" characters in a full bar (one per 5 %). */
export const BAR_STEPS = 20;
/** Back to the start of the line and erase it. */
export const CLEAR_ROW = '\r\x1b[K';
const REDRAW_MS = 100;

export interface RowSpec {
  /** What is processed (a volume name): the row's last column. */
  label: string;
  /** Units (chunks) to process. */
  total: number;
  /** Bytes those units stand for: the rate and, unless the caller gives its own, the MB column. */
  totalBytes: number;
}

export interface RowState {
  done: number;
  /** The MB column. */
  bytes: number;
  elapsedSeconds: number;
}

/** Wyng's MB column: " 9.1f" + "MB" (11 characters for volumes under 100 TiB). */
export function megabytes(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)}MB`.padStart(11);
}

/** 0:07, 12:34, 1:02:03. */
export function clock(seconds: number): string {
  const s = Math.ceil(seconds);
  const two = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

function rate(bytesPerSecond: number): string {
  const m = bytesPerSecond / MiB;
  return `${m < 10 ? m.toFixed(1) : m.toFixed(0)} MB/s`;
}

/** Columns a code point takes: 0 for combining marks, 2 for wide (East Asian, emoji) ones. */
function codePointWidth(char: string): number {
  if (/^\p{M}$/u.test(char) || char === '\u200b') return 0;
  const c = char.codePointAt(0) ?? 0;
  const wide =
    (c >= 0x1100 && c <= 0x115f) ||
    (c >= 0x2e80 && c <= 0xa4cf && c !== 0x303f) ||
    (c >= 0xac00 && c <= 0xd7a3) ||
    (c >= 0xf900 && c <= 0xfaff) ||
    (c >= 0xfe30 && c <= 0xfe4f) ||
    (c >= 0xff00 && c <= 0xff60) ||
    (c >= 0xffe0 && c <= 0xffe6) ||
    (c >= 0x1f300 && c <= 0x1faff) ||
    (c >= 0x20000 && c <= 0x3fffd);
  return wide ? 2 : 1;
}

export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) width += codePointWidth(char);
  return width;
}

/** The end of `text` that fits in `width` columns, after "…" when something was cut. */
function keepEnd(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  const chars = [...text];
  let kept = '';
  let used = 1; // the "…"
  for (let i = chars.length - 1; i >= 0; i--) {
    const w = codePointWidth(itemAt(chars, i));
    if (used + w > width) break;
    kept = chars[i] + kept;
    used += w;
  }
  return `…${kept}`;
}

/** The start of `text` that fits in `width` columns. */
function keepStart(text: string, width: number): string {
  let kept = '';
  let used = 0;
  for (const char of text) {
    const w = codePointWidth(char);
    if (used + w > width) break;
    kept += char;
    used += w;
  }
  return kept;
}

/** The live row's text, at most `columns - 1` wide (the last column is never written). */
export function rowText(spec: RowSpec, state: RowState, columns: number): string {
  const fraction = spec.total === 0 ? 1 : Math.min(1, state.done / spec.total);
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const seconds = Math.max(state.elapsedSeconds, 0.001);
  const known = state.done > 0 && state.elapsedSeconds > 0;
  const speed = known ? rate((fraction * spec.totalBytes) / seconds) : '- MB/s';
  const eta = known ? clock((seconds * (1 - fraction)) / fraction) : '-:--';
  const prefix = `${megabytes(state.bytes)} | ${percent} ${speed.padStart(9)}  ETA ${eta} | `;
  const width = Math.max(1, columns - 1);
  const room = width - displayWidth(prefix);
  // Too narrow for even a few characters of the name: the row is cut instead (never wrapped).
  if (room < 6) return keepStart(prefix + spec.label, width);
  return prefix + keepEnd(spec.label, room);
}

export interface RowSink {
  write(text: string): void;
  /** The window's width. */
  readonly columns: number;
}

/** The live row of one volume on a terminal. */
export class LiveRow {
  private readonly sink: RowSink;
  private readonly spec: RowSpec;
  private readonly now: () => number;
  private readonly started: number;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private state: RowState = { done: 0, bytes: 0, elapsedSeconds: 0 };

  constructor(sink: RowSink, spec: RowSpec, now: () => number = () => performance.now()) {
    this.sink = sink;
    this.spec = spec;
    this.now = now;
    this.started = now();
    this.show();
  }

  /** `done` units finished; `bytes` for the MB column (default: the bytes those units stand for). */
  update(done: number, bytes?: number): void {
    const now = this.now();
    const shown = bytes ?? Math.min(this.spec.totalBytes, this.spec.total === 0 ? 0 : (done / this.spec.total) * this.spec.totalBytes);
    this.state = { done, bytes: shown, elapsedSeconds: (now - this.started) / 1000 };
    if (now - this.lastDraw >= REDRAW_MS) this.draw(now);
  }

  /** Draws the row again (after `hide`). */
  show(): void {
    this.draw(this.now());
  }

  /** Takes the row off the screen, leaving the cursor at the start of its empty line. */
  hide(): void {
    this.sink.write(CLEAR_ROW);
  }

  /** Replaces the row with its final text, then a line end. */
  finish(text: string): void {
    this.sink.write(`${CLEAR_ROW}${text}\n`);
  }

  private draw(now: number): void {
    this.lastDraw = now;
    this.sink.write(CLEAR_ROW + rowText(this.spec, this.state, this.sink.columns));
  }
}

/** Wyng's unattended bar: `opening` ("[" or "  ["), then one "|" per 5 % as work proceeds. */
export class AppendedBar {
  private readonly write: (text: string) => void;
  private readonly total: number;
  private shown = 0;

  constructor(write: (text: string) => void, total: number, opening: string) {
    this.write = write;
    this.total = total;
    write(opening);
  }

  update(done: number): void {
    const bars = Math.min(BAR_STEPS, Math.floor((BAR_STEPS * done) / Math.max(1, this.total)));
    if (bars > this.shown) this.write('|'.repeat(bars - this.shown));
    this.shown = Math.max(this.shown, bars);
  }

  /** Fills the bar and writes `closing` (which ends the line). */
  finish(closing: string): void {
    this.write(`${'|'.repeat(BAR_STEPS - this.shown)}${closing}`);
  }

  /** Ends the line where the bar stopped. */
  abandon(): void {
    this.write('\n');
  }
}
