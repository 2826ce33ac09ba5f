// The error vocabulary of Skiff and the one table that maps it to exit codes.
//
// Exit codes keep Wyng's published meanings because wrapper scripts (wyng-util-qubes style)
// branch on them: 2 = some volumes failed, 3 = authentication, 5/6/7 = storage. Unlike Wyng,
// usage errors exit 9 (Wyng's argparse exits 2, which collides with "volumes failed"), and
// integrity failures never print a stack trace.

import { errnoOf } from '../protocol/thrown.js';

export const ExitCode = {
  ok: 0,
  fatal: 1,
  volumeErrors: 2,
  authentication: 3,
  timeout: 4,
  destinationNotReady: 5,
  archiveNotFound: 6,
  localStorage: 7,
  interrupted: 8,
  input: 9,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Base of every expected failure: its message is shown to the user as one line, no stack. */
export abstract class SkiffError extends Error {
  abstract readonly exitCode: ExitCode;
  /** Stable, greppable identifier of the kind of failure. */
  abstract readonly code: string;
}

/** Bad options, names, selections or other user input (Wyng's OptionError/InputError/SelectionError). */
export class InputError extends SkiffError {
  readonly exitCode = ExitCode.input;
  readonly code = 'INPUT';
}

/** No passphrase, a wrong passphrase, or an object that fails authentication at the root. */
export class AuthenticationError extends SkiffError {
  readonly exitCode = ExitCode.authentication;
  readonly code = 'AUTHENTICATION';
}

export class DestinationNotReadyError extends SkiffError {
  readonly exitCode = ExitCode.destinationNotReady;
  readonly code = 'DESTINATION_NOT_READY';
}

export class ArchiveNotFoundError extends SkiffError {
  readonly exitCode = ExitCode.archiveNotFound;
  readonly code = 'ARCHIVE_NOT_FOUND';
}

export class LocalStorageError extends SkiffError {
  readonly exitCode = ExitCode.localStorage;
  readonly code = 'LOCAL_STORAGE';
}

/** Wyng's words for an interrupt, the same wherever it is noticed. */
export const INTERRUPT_MESSAGE = '*** Interrupt.';

export class InterruptedError extends SkiffError {
  readonly exitCode = ExitCode.interrupted;
  readonly code = 'INTERRUPTED';
  constructor() {
    super(INTERRUPT_MESSAGE);
  }
}

/**
 * Something read from the destination failed a check: size, authentication, hash, decompression
 * or syntax. `object` names the archive file (or chunk address) so the user can find it.
 * When it concerns one volume, the command records it against that volume and goes on with the
 * others (exit 2 at the end); at the archive root it ends the run.
 */
export class IntegrityError extends SkiffError {
  readonly exitCode = ExitCode.fatal;
  readonly code = 'INTEGRITY';
  readonly object: string;
  /** What is wrong with it (the message without the object's name). */
  readonly detail: string;
  constructor(object: string, detail: string) {
    super(`${object}: ${detail}`);
    this.object = object;
    this.detail = detail;
  }
}

/**
 * The destination presents another archive than the one this machine last saw there (unencrypted
 * where it was encrypted, another cipher, another uuid): refused before any passphrase is asked or
 * anything is sent, unless the user says the replacement is theirs (--accept-new-archive).
 */
export class ArchiveReplacedError extends SkiffError {
  readonly exitCode = ExitCode.fatal;
  readonly code = 'ARCHIVE_REPLACED';
}

/** One volume cannot be processed (missing, unreadable); the command goes on with the others. */
export class VolumeFailure extends SkiffError {
  readonly exitCode = ExitCode.volumeErrors;
  readonly code = 'VOLUME_FAILURE';
}

/** A failure that is not one of the kinds above but is still expected (e.g. an I/O error). */
export class FatalError extends SkiffError {
  readonly exitCode = ExitCode.fatal;
  readonly code = 'FATAL';
}

/**
 * A worker thread (send's chunk workers, receive's decode workers) exited or threw outside a
 * job: its chunks are lost, so the run stops before committing anything.
 */
export class WorkerDiedError extends FatalError {}

/**
 * The key agent's directory or socket is not ours alone (another owner, open mode, not a
 * directory or socket): keys could be served by a stranger, so the run stops.
 */
export class AgentError extends SkiffError {
  readonly exitCode = ExitCode.fatal;
  readonly code = 'AGENT';
}

/** Raised at the end of a command when one or more volumes failed (Wyng's "Error on volumes"). */
export class VolumeErrors extends SkiffError {
  readonly exitCode = ExitCode.volumeErrors;
  readonly code = 'VOLUME_ERRORS';
  readonly volumes: readonly string[];
  constructor(volumes: readonly string[]) {
    super(`Error on volumes: ${[...new Set(volumes)].sort().join(', ')}`);
    this.volumes = volumes;
  }
}

// skiff-qubes (source-agent/qubes/): Qubes' side of a backup or restore.

/** The Qubes metadata (qubes.xml, the tar from the archive) cannot be read. */
export class QubesMetadataError extends FatalError {}

/** qubesd refused a call (its exception class and message), or the socket cannot be used. */
export class QubesAdminError extends FatalError {
  constructor(
    message: string,
    readonly qubesException = '',
  ) {
    super(message);
  }
}

/** A command line skiff-qubes does not accept, or a selection it cannot make: exit 1, as wyng-util-qubes. */
export class QubesUsageError extends FatalError {}

/** What restore will not do (overwrite a running VM): nothing has been changed. */
export class QubesRefusal extends FatalError {}

/** Some VMs could not be backed up or restored (wyng-util-qubes' "Errors for VMs", exit 2). */
export class QubesVmErrors extends SkiffError {
  readonly exitCode = ExitCode.volumeErrors;
  readonly code = 'QUBES_VM_ERRORS';
  constructor(readonly qubes: readonly string[]) {
    super(`Errors for VMs: ${[...new Set(qubes)].sort().join(', ')}`);
  }
}

/** A skiff command skiff-qubes ran failed as a whole (its own message is already printed). */
export class SkiffStepError extends SkiffError {
  readonly code = 'QUBES_SKIFF_STEP';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

/** Turns an unknown thrown value into a short description, for wrapping with context. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = errnoOf(error);
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
