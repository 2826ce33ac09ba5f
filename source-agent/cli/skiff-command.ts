// The base of every command: the options all commands share, output set-up, opening the
// archive named by --dest (with the local rollback check), and questions to the user. Errors
// are not handled here: they propagate to run.ts, the one place that maps them to messages and
// exit codes.

import type { ReadStream } from 'node:tty';
import { Command, Option } from 'clipanion';
import { DEFAULT_AUTH_MINUTES, keysFromAgent, startAgent, stopAgent } from '../agent/agent-client.js';
import { Archive } from '../archive/archive.js';
import type { RootKeys } from '../archive/keys.js';
import { formatSaltFile } from '../archive/salt.js';
import type { Output } from '../engine/output.js';
import { describeError, InputError, IntegrityError, LocalStorageError } from '../errors.js';
import { DEFAULT_META_DIR, LocalState } from '../state/local-state.js';
import { compareRoots } from '../state/rollback.js';
import type { Store } from '../store/store.js';
import { removeEmptyDirs } from '../sys/make-dirs.js';
import { readLineFromTerminal } from '../sys/terminal.js';
import { RELEASE_LINE } from '../version.js';
import { ConsoleOutput } from './console-output.js';
import type { SkiffContext } from './context.js';
import { type DestUrl, openDestination, parseDestUrl } from './dest-url.js';
import { formatUpdatedAt } from './format.js';
import {
  configOption,
  debugOption,
  destOption,
  forceAllowRollbackOption,
  metaDirOption,
  optQubesOption,
  optSshOption,
  passcmdOption,
  quietOption,
  unattendedOption,
  verboseOption,
} from './options.js';
import { readPassphrase } from './passphrase.js';

export interface OpenedArchive {
  archive: Archive;
  dest: DestUrl;
  /** null when a read-only command could not use the metadata directory. */
  state: LocalState | null;
}

export abstract class SkiffCommand extends Command<SkiffContext> {
  dest = destOption();
  config = configOption();
  passcmd = passcmdOption();
  metaDir = metaDirOption();
  authmin = Option.String('--authmin', String(DEFAULT_AUTH_MINUTES), {
    description: 'Minutes to keep the keys in a background agent after unlocking (max 60; 0: do not keep; -1: stop the agent)',
  });
  forceAllowRollback = forceAllowRollbackOption();
  optSsh = optSshOption();
  optQubes = optQubesOption();
  unattended = unattendedOption();
  quiet = quietOption();
  verbose = verboseOption();
  debug = debugOption();

  abstract run(): Promise<number>;

  /** Stores this run opened; closed when it ends (a remote helper must not outlive the run). */
  private readonly stores: Store[] = [];

  /** Directories openStore created for a write command: removed again, if still empty, when it fails. */
  private readonly createdDirs: string[] = [];

  async execute(): Promise<number> {
    let failed = true;
    try {
      const code = await this.run();
      failed = code !== 0;
      return code;
    } finally {
      await this.releaseResources().catch(() => {});
      await Promise.all(this.stores.splice(0).map((store) => store.close().catch(() => {})));
      // A failed arch-init or a send to a mistyped --dest leaves nothing behind.
      if (failed) await removeEmptyDirs(this.createdDirs.splice(0));
    }
  }

  /** Runs when the command ends, before its stores close (a write command releases its lock). */
  protected async releaseResources(): Promise<void> {}

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

  /**
   * The version line, first on stdout once the command line is accepted: a missing or malformed
   * --dest is a command-line error, reported alone like the others (exit 9).
   */
  banner(out: Output, needsDest = true): void {
    if (needsDest) parseDestUrl(this.dest, this.context.cwd);
    out.line(RELEASE_LINE);
  }

  passphraseSource() {
    return { passcmd: this.passcmd, stdin: this.context.stdin, stderr: this.context.stderr };
  }

  /** The destination's Store (the directory must exist, unless `create`: write commands make it). */
  async openStore(options: { create?: boolean } = {}): Promise<{ dest: DestUrl; store: Store }> {
    const dest = parseDestUrl(this.dest, this.context.cwd);
    const store = await openDestination(dest, {
      create: options.create ?? false,
      carrier: { sshOptions: this.optSsh, qubesOptions: this.optQubes },
      created: this.createdDirs,
    });
    this.stores.push(store);
    return { dest, store };
  }

  /**
   * Opens the archive at --dest (asking for the passphrase if needed), checks it against the
   * root this machine saw last, and prints its header lines. Write commands need the local
   * state; read commands go on without it (with a warning) if the metadata directory is unusable.
   */
  async openArchive(out: Output, options: { write?: boolean } = {}): Promise<OpenedArchive> {
    const minutes = this.authMinutes();
    const { dest, store } = await this.openStore({ create: options.write ?? false });
    const agentKeys = await keysFromAgent(dest.text);
    const archive = await Archive.open(store, {
      passphrase: () => readPassphrase(this.passphraseSource()),
      now: this.context.now,
      ...(agentKeys ? { rootKeys: agentKeys } : {}),
    });
    await this.keepKeys(dest, archive, agentKeys, minutes);
    const state = await this.openState(archive, dest, out, options.write ?? false);
    if (state) await this.checkRollback(archive, state, out);
    const journal = archive.ini.inProcess;
    if (journal.length > 0) out.warn(`** Prior operation in progress: ${journal[0]} ${journal[1] ?? ''}`);
    out.line(`${archive.encrypted ? 'Encrypted' : 'Un-encrypted'} archive '${dest.text}'`);
    out.line(`Last updated ${formatUpdatedAt(archive.ini.updatedAt)}`);
    return { archive, dest, state };
  }

  /** --authmin as minutes: -1 (stop the agent), 0 (do not keep keys) or 1..60. */
  authMinutes(): number {
    if (!/^-?[0-9]+$/.test(this.authmin) || Number(this.authmin) < -1)
      throw new InputError(`--authmin must be -1, 0 or a number of minutes, not '${this.authmin}'.`);
    return Math.min(60, Number(this.authmin));
  }

  /** After an unlock: start an agent with the keys, or stop it (--authmin=-1). */
  async keepKeys(dest: DestUrl, archive: Archive, agentKeys: RootKeys | null, minutes: number): Promise<void> {
    const keys = archive.rootKeys;
    if (minutes < 0) {
      await stopAgent(dest.text);
      return;
    }
    const fromAgent = agentKeys !== null && keys !== null && agentKeys.metadataKey.equals(keys.metadataKey);
    if (keys && minutes > 0 && !fromAgent) {
      if (agentKeys) await stopAgent(dest.text); // an agent with keys of another archive at this URL
      startAgent(dest.text, keys, minutes);
    }
  }

  async openState(archive: Archive, dest: DestUrl, out: Output, write: boolean): Promise<LocalState | null> {
    const metaDir = this.metaDir ?? DEFAULT_META_DIR;
    try {
      return await LocalState.open(metaDir, archive.ini.uuid, dest.text);
    } catch (error) {
      const message = `Cannot use metadata directory '${metaDir}': ${describeError(error)}`;
      if (write) throw new LocalStorageError(message);
      out.warn(`Warning: ${message}; rollback protection is off for this run.`);
      return null;
    }
  }

  private async checkRollback(archive: Archive, state: LocalState, out: Output): Promise<void> {
    const cachedBytes = await state.cachedRoot();
    let save = cachedBytes === null;
    if (cachedBytes) {
      let cached: ReturnType<Archive['decodeRoot']> | null = null;
      try {
        cached = archive.decodeRoot(cachedBytes, 'cached archive.ini');
      } catch (error) {
        if (!(error instanceof IntegrityError)) throw error;
        out.warn(`Warning: ${error.message}; replacing the cached copy.`);
        save = true;
      }
      if (cached) {
        const verdict = compareRoots(cached, archive.ini);
        if (verdict.kind === 'downgrade') {
          throw new IntegrityError('archive.ini', 'is not encrypted, but this machine last saw the archive encrypted.');
        }
        if (verdict.kind === 'rollback' || verdict.kind === 'conflict') {
          const reason =
            verdict.kind === 'rollback'
              ? `is older (${verdict.current}) than the one this machine last saw (${verdict.cached}) in ${state.dir}`
              : `differs from the one this machine last saw with the same time (${verdict.updatedAt})`;
          if (!this.forceAllowRollback) throw new IntegrityError('archive.ini', `${reason}; use --force-allow-rollback to accept it.`);
          out.warn(`Caution: Allowing rollback. archive.ini ${reason}.`);
          save = true;
        } else if (verdict.cacheIsOlder) {
          save = true;
        }
      }
    }
    if (save) await state.saveRoot(archive.rootBytes);
    if (archive.salt) {
      const cachedSalt = await state.cachedSalt();
      const bytes = formatSaltFile(archive.salt); // as read by Archive.open (the format round-trips)
      if (cachedSalt && !cachedSalt.subarray(0, 320).every((b, i) => i % 80 < 10 || b === bytes[i])) {
        throw new IntegrityError('archive.salt', `differs from the copy this machine keeps in ${state.dir}.`);
      }
      if (!cachedSalt) await state.saveSalt(bytes);
    }
  }

  /** Asks a y/N question on the terminal; anything but y/yes is no. */
  async confirm(question: string): Promise<boolean> {
    this.context.stderr.write(question);
    const answer = await readLineFromTerminal(this.context.stdin as ReadStream);
    return /^(y|yes)$/i.test(answer.trim());
  }
}
