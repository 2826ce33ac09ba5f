// What the engine needs to tell the user. The CLI implements it (plain lines when unattended,
// redrawn progress on a terminal); tests capture it.

export interface Progress {
  /** `done` of `total` units are finished. */
  update(done: number): void;
  /** Completes the bar and prints `suffix` after it (e.g. ": OK "). */
  end(suffix: string): void;
  /** Ends the bar without completing it, before an error is reported. */
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
  progress(total: number): Progress;
}
