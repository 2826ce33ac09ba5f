// A real terminal for tests: a private tmux server (its own socket) running one command in a
// window of a fixed size. Tests read what a person would see (`capture-pane`, the rendered
// screen after every \r, escape sequence and line wrap), not the bytes written.

import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const STATUS_WRAPPER = [
  "const { spawnSync } = require('node:child_process');",
  "for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT']) process.on(s, () => {});",
  'const [statusFile, command, ...args] = process.argv.slice(2);',
  "const r = spawnSync(command, args, { stdio: 'inherit' });",
  "const code = r.status ?? 128 + (require('node:os').constants.signals[r.signal] ?? 0);",
  "require('node:fs').writeFileSync(statusFile, code + '\\n');",
  // tmux's pane status is then the command's too (never the wrapper's own 0).
  'process.exitCode = code;',
].join('\n');

export class TmuxTerminal {
  private readonly dir: string;
  private readonly socket: string;
  private readonly statusFile: string;

  /** Starts `argv` (executed directly, no shell) in a `columns`×`rows` window. */
  constructor(argv: readonly string[], size: { columns: number; rows: number }) {
    this.dir = mkdtempSync(join(tmpdir(), 'skiff-tmux-'));
    this.socket = join(this.dir, 'socket');
    this.statusFile = join(this.dir, 'status');
    // A file, not `node -e`: tmux reads some arguments (one ending in ';') as its own syntax.
    const wrapper = join(this.dir, 'status-wrapper.cjs');
    writeFileSync(wrapper, STATUS_WRAPPER);
    const config = join(this.dir, 'tmux.conf');
    // The pane stays after the command ends, so its last screen and exit status can be read.
    writeFileSync(config, 'set -g remain-on-exit on\nset -g status off\nset -g history-limit 0\n');
    execFileSync('tmux', [
      '-S',
      this.socket,
      '-f',
      config,
      'new-session',
      '-d',
      '-x',
      String(size.columns),
      '-y',
      String(size.rows),
      // The command runs under a small node wrapper that writes its exit status to a file: on a
      // loaded machine tmux has been seen to leave the ended command a zombie with no
      // pane_dead_status for over a minute. The wrapper ignores the terminal's signals (its child
      // gets them from the terminal as usual) and only waits; a shell's trap would not do, as
      // dash reports the trap action's status instead of the command's.
      process.execPath,
      wrapper,
      this.statusFile,
      ...argv,
    ]);
  }

  private tmux(args: readonly string[]): Promise<string> {
    return run('tmux', ['-S', this.socket, ...args], { encoding: 'utf8' }).then((r) => r.stdout);
  }

  /** The visible screen, one string per row, trailing blanks removed (as a person reads it). */
  async screen(): Promise<string[]> {
    const text = await this.tmux(['capture-pane', '-p']);
    return text.replace(/\n$/, '').split('\n');
  }

  /** The command's exit status once it has ended, else null. */
  async exitStatus(): Promise<number | null> {
    const written = this.writtenStatus();
    if (written !== null) return written;
    const [dead, status] = (await this.tmux(['display-message', '-p', '#{pane_dead} #{pane_dead_status}'])).trim().split(' ');
    // Right after the end tmux may show the pane dead before it has the status: not yet, then.
    if (dead !== '1' || !status) return null;
    // The wrapper may have written the file and ended between the read above and tmux's answer
    // (seen in CI): the file, written before the wrapper ended, is then the one to believe.
    return this.writtenStatus() ?? Number(status);
  }

  /** The status the wrapper wrote, once it has written all of it. */
  private writtenStatus(): number | null {
    try {
      const written = readFileSync(this.statusFile, 'utf8');
      if (written.endsWith('\n')) return Number(written.trim());
    } catch {
      // not ended yet (or tmux knows first)
    }
    return null;
  }

  /** For a timeout's message: whether the pane's process still runs, and in what state. */
  private async paneState(): Promise<string> {
    const [dead, pid] = (await this.tmux(['display-message', '-p', '#{pane_dead} #{pane_pid}'])).trim().split(' ');
    let state = 'gone';
    try {
      state = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^State:\s*(.*)$/m)?.[1] ?? '?';
    } catch {
      // not running
    }
    return `pane_dead=${dead}, pid ${pid}: ${state}`;
  }

  /** Keys as tmux names them (`C-c`). */
  async sendKeys(keys: string): Promise<void> {
    await this.tmux(['send-keys', keys]);
  }

  /**
   * Screens seen until `done(screen)` holds (polling); every distinct screen is kept so a test can
   * look at the rows drawn while the command ran. Fails after `timeoutMs` with the last screen.
   */
  async watch(done: (screen: string[]) => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<string[][]> {
    const seen: string[][] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = await this.screen();
      const last = seen.at(-1);
      if (!last || last.join('\n') !== screen.join('\n')) seen.push(screen);
      if (await done(screen)) return seen;
      if (Date.now() > deadline) throw new Error(`terminal: timed out (${await this.paneState()}); last screen:\n${screen.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
  }

  /** Waits for the command to end; returns its status and every screen seen meanwhile. */
  async finished(timeoutMs = 60_000): Promise<{ status: number; screens: string[][] }> {
    let status: number | null = null;
    const screens = await this.watch(async () => {
      status = await this.exitStatus();
      return status !== null;
    }, timeoutMs);
    // The screen as the command left it (the one above was read before its end was seen).
    screens.push(await this.screen());
    return { status: status as unknown as number, screens };
  }

  close(): void {
    try {
      execFileSync('tmux', ['-S', this.socket, 'kill-server'], { stdio: 'ignore' });
    } catch {
      // already gone
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
