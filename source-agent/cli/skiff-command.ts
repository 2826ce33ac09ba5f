// The base of every command: the options all commands share, output set-up, opening the
// archive named by --dest (with the local rollback check), and questions to the user. Errors
// are not handled here: they propagate to run.ts, the one place that maps them to messages and
// exit codes.

import { Command, Option } from 'clipanion';
import { inert } from '../../protocol/inert-text.js';
import { DEFAULT_AUTH_MINUTES, keysFromAgent, startAgent, stopAgent } from '../agent/agent-client.js';
import { Archive } from '../archive/archive.js';
import { type CipherMode, cipherModeByCode, describeCipher } from '../archive/crypto/cipher-modes.js';
import type { RootKeys } from '../archive/keys.js';
import { formatSaltFile } from '../archive/salt.js';
import type { Output } from '../engine/output.js';
import { ArchiveReplacedError, describeError, InputError, IntegrityError, LocalStorageError } from '../errors.js';
import { type AnchorVerdict, anchorFor, compareWithAnchor, type DestAnchor, DestAnchors, type Presented } from '../state/dest-anchor.js';
import { DEFAULT_META_DIR, LocalState } from '../state/local-state.js';
import { compareRoots } from '../state/rollback.js';
import type { Store } from '../store/store.js';
import { removeEmptyDirs } from '../sys/make-dirs.js';
import { isTerminal, readLine } from '../sys/terminal.js';
import { RELEASE_LINE } from '../version.js';
import { ConsoleOutput } from './console-output.js';
import type { SkiffContext } from './context.js';
import { type DestUrl, destIdentity, openDestination, parseDestUrl } from './dest-url.js';
import { formatUpdatedAt } from './format.js';
import {
  acceptNewArchiveOption,
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
import { readGivenPassphrase, readPassphrase } from './passphrase.js';

export interface OpenedArchive {
  archive: Archive;
  dest: DestUrl;
  /** null when a read-only command could not use the metadata directory. */
  state: LocalState | null;
}

export abstract class SkiffCommand extends Command<SkiffContext> {
  /** What follows `skiff COMMAND [OPTIONS]` in the help's usage line: `[VOLUME...]`, `OLD NEW`. */
  static operands = '';

  dest = destOption();
  config = configOption();
  passcmd = passcmdOption();
  metaDir = metaDirOption();
  authmin = Option.String('--authmin', String(DEFAULT_AUTH_MINUTES), {
    description: 'Minutes to keep the keys in a background agent after unlocking (max 60; 0: do not keep; -1: stop the agent)',
  });
  forceAllowRollback = forceAllowRollbackOption();
  acceptNewArchive = acceptNewArchiveOption();
  optSsh = optSshOption();
  optQubes = optQubesOption();
  unattended = unattendedOption();
  quiet = quietOption();
  verbose = verboseOption();
  debug = debugOption();

  abstract run(): Promise<number>;

  /** Stores this run opened; closed when it ends (a remote helper must not outlive the run). */
  private readonly stores: Store[] = [];

  /** False for commands that never touch an archive (version): --authmin=-1 leaves agents alone there. */
  protected readonly touchesArchive: boolean = true;
  /** --authmin=-1 has stopped this archive's agent in this run. */
  private agentStopped = false;
  /** Directories openStore created for a write command: removed again, if still empty, when it fails. */
  private readonly createdDirs: string[] = [];

  async execute(): Promise<number> {
    let failed = true;
    try {
      const code = await this.run();
      failed = code !== 0;
      return code;
    } finally {
      // --authmin=-1 stops the agent however the command ends, even before it opened the archive.
      if (this.touchesArchive && Number(this.authmin) === -1 && !this.agentStopped) await this.stopAgentNow().catch(() => {});
      // A progress row still open (an error, an interrupt) is cleared before run.ts reports it.
      this.outputCache?.close();
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
    return !this.unattended && !this.quiet && isTerminal(this.context.stdin);
  }

  private outputCache: ConsoleOutput | undefined;

  /** The command's output; `quietApplies` is false for list and version, as in Wyng. */
  output(quietApplies = true): Output {
    return this.consoleOutput(quietApplies);
  }

  /** The same, with the console's progress displays (send draws its own rows with them). */
  consoleOutput(quietApplies = true): ConsoleOutput {
    this.outputCache ??= new ConsoleOutput({
      stdout: this.context.stdout,
      stderr: this.context.stderr,
      interactive: isTerminal(this.context.stdout) && !this.unattended,
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
   * Opens the archive at --dest (asking for the passphrase if needed), checks it against what this
   * machine last saw there (the destination's anchor: before any passphrase is asked; the root:
   * rollback), and prints its header lines. Write commands need the local state; read commands go
   * on without it (with a warning) if the metadata directory is unusable.
   */
  async openArchive(out: Output, options: { write?: boolean } = {}): Promise<OpenedArchive> {
    const write = options.write ?? false;
    const minutes = this.authMinutes();
    const agentKeys = await this.keysFromAgent(minutes);
    const { dest, store } = await this.openStore({ create: write });
    const identity = destIdentity(dest);
    const anchor = await this.readAnchor(identity, out, write);
    const archive = await Archive.open(store, {
      passphrase: () => readPassphrase(this.passphraseSource()),
      now: this.context.now,
      onDeriving: this.derivingNote(out),
      ...(agentKeys ? { rootKeys: agentKeys, givenPassphrase: () => readGivenPassphrase(this.passphraseSource()) } : {}),
      checkHeader: (mode) => this.checkAnchor(anchor, dest, { mode, uuid: null }),
    });
    this.checkAnchor(anchor, dest, { mode: archive.ini.mode, uuid: archive.ini.uuid });
    await this.keepKeys(dest, archive, agentKeys, minutes);
    const state = await this.openState(archive, dest, out, write);
    if (state) {
      await this.checkRollback(archive, state, out);
      await this.saveAnchor(anchor, anchorFor(identity, archive.ini.mode, archive.ini.uuid), dest, out, write);
    }
    const journal = archive.ini.inProcess;
    if (journal.length > 0) out.warn(`** Prior operation in progress: ${inert(journal[0] ?? '')} ${inert(journal[1] ?? '')}`);
    out.line(`${archive.encrypted ? 'Encrypted' : 'Un-encrypted'} archive '${dest.text}'`);
    out.line(`Last updated ${formatUpdatedAt(archive.ini.updatedAt)}`);
    return { archive, dest, state };
  }

  /** The metadata directory this run uses. */
  get metaDirectory(): string {
    return this.metaDir ?? DEFAULT_META_DIR;
  }

  /** A local-state failure: a write command stops (exit 7); a read command warns and goes on. */
  private localStateFailure(error: unknown, out: Output, write: boolean, consequence: string): void {
    const message = `Cannot use metadata directory '${this.metaDirectory}': ${describeError(error)}`;
    if (write) throw new LocalStorageError(message);
    out.warn(`Warning: ${message}; ${consequence} for this run.`);
  }

  /** Records `anchor` as this destination's (the user created or re-identified the archive). */
  async recordAnchor(anchor: DestAnchor): Promise<void> {
    try {
      await new DestAnchors(this.metaDirectory).save(anchor);
    } catch (error) {
      throw new LocalStorageError(`Cannot use metadata directory '${this.metaDirectory}': ${describeError(error)}`);
    }
  }

  private async readAnchor(identity: string, out: Output, write: boolean): Promise<DestAnchor | null> {
    try {
      return await new DestAnchors(this.metaDirectory).read(identity);
    } catch (error) {
      this.localStateFailure(error, out, write, 'the check for a replaced archive is off');
      return null;
    }
  }

  /** Refuses an archive that is not the one this machine last saw at this destination. */
  private checkAnchor(anchor: DestAnchor | null, dest: DestUrl, presented: Presented): void {
    if (!anchor || this.acceptNewArchive) return;
    const verdict = compareWithAnchor(anchor, presented);
    if (verdict.kind !== 'ok') throw new ArchiveReplacedError(replacedMessage(dest.text, anchor, verdict));
  }

  /**
   * Records the archive just opened (and authenticated, if encrypted) as the destination's anchor:
   * a first sight, the end of an interrupted uuid change, or a replacement the user accepted.
   */
  private async saveAnchor(anchor: DestAnchor | null, next: DestAnchor, dest: DestUrl, out: Output, write: boolean): Promise<void> {
    if (anchor && JSON.stringify(anchor) === JSON.stringify(next)) return;
    if (anchor && compareWithAnchor(anchor, { mode: cipherModeFor(next), uuid: next.uuid }).kind !== 'ok') {
      out.warn(
        `Caution: accepting the archive at '${dest.text}' (uuid ${next.uuid}) in place of the one this machine last saw (uuid ${anchor.uuid}).`,
      );
    }
    try {
      await new DestAnchors(this.metaDirectory).save(next);
    } catch (error) {
      this.localStateFailure(error, out, write, 'the archive is not remembered');
    }
  }

  /** --authmin as minutes: -1 (stop the agent), 0 (do not keep keys) or 1..60. */
  authMinutes(): number {
    if (!/^-?[0-9]+$/.test(this.authmin) || Number(this.authmin) < -1)
      throw new InputError(`--authmin must be -1, 0 or a number of minutes, not '${this.authmin}'.`);
    return Math.min(60, Number(this.authmin));
  }

  /**
   * Keys from the agent of --dest's archive (keyed by destIdentity, so every spelling of the
   * destination finds it). With --authmin=-1 the agent is stopped at once; its keys still serve
   * this run, as in Wyng.
   */
  async keysFromAgent(minutes: number): Promise<RootKeys | null> {
    const identity = destIdentity(parseDestUrl(this.dest, this.context.cwd));
    const keys = await keysFromAgent(identity);
    if (minutes < 0) await this.stopAgentNow();
    return keys;
  }

  private async stopAgentNow(): Promise<void> {
    await stopAgent(destIdentity(parseDestUrl(this.dest, this.context.cwd)));
    this.agentStopped = true;
  }

  /** After an unlock: start an agent with the keys, or stop it (--authmin=-1). */
  async keepKeys(dest: DestUrl, archive: Archive, agentKeys: RootKeys | null, minutes: number): Promise<void> {
    const keys = archive.rootKeys;
    if (minutes < 0) {
      if (!this.agentStopped) await this.stopAgentNow();
      return;
    }
    const fromAgent = agentKeys !== null && keys !== null && agentKeys.metadataKey.equals(keys.metadataKey);
    if (keys && minutes > 0 && !fromAgent) {
      if (agentKeys) await stopAgent(destIdentity(dest)); // an agent with keys of another archive there
      startAgent(destIdentity(dest), keys, minutes);
    }
  }

  /**
   * The "Deriving keys…" note for Archive.open/createArchive: scrypt takes seconds, which after
   * typing a passphrase looks like a hang. On a terminal it appears once derivation has taken
   * half a second; with --verbose at once (so logs show where the time went); never with --quiet.
   */
  derivingNote(out: Output): () => () => void {
    return () => {
      if (this.quiet) return () => {};
      const note = () => out.warn('Deriving keys…');
      if (out.verbose) {
        note();
        return () => {};
      }
      if (!isTerminal(this.context.stderr)) return () => {};
      const timer = setTimeout(note, 500);
      return () => clearTimeout(timer);
    };
  }

  async openState(archive: Archive, dest: DestUrl, out: Output, write: boolean): Promise<LocalState | null> {
    try {
      return await LocalState.open(this.metaDirectory, archive.ini.uuid, destIdentity(dest), dest.text);
    } catch (error) {
      this.localStateFailure(error, out, write, 'rollback protection is off');
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
        // The copy this machine kept does not decode with this archive's keys (or without keys):
        // this is not the archive it last saw. Only the user may say it is theirs.
        if (!(error instanceof IntegrityError)) throw error;
        if (!this.acceptNewArchive) {
          throw new ArchiveReplacedError(
            `The archive at '${archive.store.url}' does not match the copy of its archive.ini this machine keeps in ${state.dir} (${error.message}): the destination may have replaced it. Use --accept-new-archive if you replaced the archive yourself.`,
          );
        }
        out.warn(`Caution: ${error.message}; replacing the cached copy (--accept-new-archive).`);
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

  /** Asks a y/N question on the terminal; anything but y/yes is no, end of input (Ctrl-D) too. */
  async confirm(question: string): Promise<boolean> {
    this.context.stderr.write(question);
    const answer = await readLine(this.context.stdin);
    return answer !== null && /^(y|yes)$/i.test(answer.trim());
  }
}

const ACCEPT_HINT = 'Use --accept-new-archive if you replaced the archive yourself.';

function cipherModeFor(anchor: DestAnchor): CipherMode {
  const mode = cipherModeByCode(anchor.cipher);
  // Anchors are written from parsed modes: another code means the file was edited.
  if (!mode) throw new Error(`unknown cipher code ${anchor.cipher} in the anchor of this destination`);
  return mode;
}

function cipherName(code: string): string {
  const mode = cipherModeByCode(code);
  return mode ? describeCipher(mode) : `ci ${code}`;
}

/** One line naming what changed and the risk it carries. */
function replacedMessage(dest: string, anchor: DestAnchor, verdict: Exclude<AnchorVerdict, { kind: 'ok' }>): string {
  switch (verdict.kind) {
    case 'unencrypted':
      return `The archive at '${dest}' is now unencrypted, but this machine last saw it encrypted (uuid ${anchor.uuid}): the destination may be trying to make Skiff send your data unencrypted or restore its own data. ${ACCEPT_HINT}`;
    case 'cipher':
      return `The archive at '${dest}' now uses another cipher (${cipherName(verdict.was)} → ${cipherName(verdict.now)}) than this machine last saw: the destination may be trying to make Skiff restore its own data or send into an archive it controls. ${ACCEPT_HINT}`;
    case 'uuid':
      return `The archive at '${dest}' has another uuid (${verdict.was} → ${verdict.now}) than this machine last saw: the destination may be trying to make Skiff restore its own data or send into an archive it controls. ${ACCEPT_HINT}`;
  }
}
