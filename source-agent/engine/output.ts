// What the engine needs to tell the user. The CLI implements it (cli/console-output.ts: plain
// lines and Wyng's bars when unattended, a redrawn row on a terminal); tests capture it.

export interface ProgressSpec {
  /** What is processed (a volume name), shown on a terminal's progress row. */
  label: string;
  /** Units (chunks) to process. */
  total: number;
  /** Bytes those units stand for (for the rate and ETA on a terminal). */
  totalBytes: number;
}

export interface Progress {
  /** `done` of `total` units are finished. */
  update(done: number): void;
  /** Completes the bar and prints `suffix` after it (e.g. ": OK "). */
  end(suffix: string): void;
  /** Ends the progress display without completing it, before an error is reported. */
  abandon(): void;
}

export interface Output {
  /** More detail wanted (--verbose). */
  readonly verbose: boolean;
  /** A line on stdout. */
  line(text?: string): void;
  /** Text on stdout without a line end. */
  write(text: string): void;
  /** A line on stderr: warnings and errors. */
  warn(text: string): void;
  progress(spec: ProgressSpec): Progress;
}
