// skiff-qubes' own errors, as SkiffError subclasses so that one table (errors.ts) gives their exit
// codes and the CLI prints them as one line.

import { ExitCode, FatalError, SkiffError } from '../errors.js';

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
