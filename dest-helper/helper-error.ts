// An operation's failure as the protocol reports it: a Store error code and a message.

import { withoutProcName } from '../confined-fs/beneath-root.js';
import { errorCodeOf } from '../protocol/error-codes.js';
import type { ErrorCode } from '../protocol/messages.js';
import { errnoOf } from '../protocol/thrown.js';

export class HelperError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Any thrown value as a HelperError; errno errors keep their code, messages lose the "ECODE: " prefix. */
export function asHelperError(error: unknown): HelperError {
  if (error instanceof HelperError) return error;
  const errno = errnoOf(error);
  const message = error instanceof Error ? withoutProcName(error.message.replace(/^[A-Z]+: /, '')) : String(error);
  return new HelperError(errorCodeOf(errno), message);
}
