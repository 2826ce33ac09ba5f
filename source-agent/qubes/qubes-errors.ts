// skiff-qubes' own errors, as SkiffError subclasses so that one table (errors.ts) gives their exit
// codes and the CLI prints them as one line.

import { FatalError, InputError } from '../errors.js';

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

/** A command line skiff-qubes does not accept. */
export class QubesUsageError extends InputError {}
