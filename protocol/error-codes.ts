// errno codes → the error codes of the Store contract, for both ends: the helper reports its
// file-system errors with these, and the local store uses the same mapping. TOO_LARGE is no
// errno: confined-fs/archive-directory.ts throws it for a file over the reader's bound.

import type { ErrorCode } from './messages.js';

const PASSED_THROUGH_CODES: readonly ErrorCode[] = [
  'ENOENT',
  'EEXIST',
  'ENOTDIR',
  'EISDIR',
  'EINVAL',
  'EMLINK',
  'ENOSPC',
  'EACCES',
  'EBUSY',
  'TOO_LARGE',
];
const PASSED_THROUGH: ReadonlyMap<string, ErrorCode> = new Map(PASSED_THROUGH_CODES.map((code) => [code, code]));

/** Permission-like and quota errors fold into their kind; anything unknown is EIO. */
export function errorCodeOf(errno: string | undefined): ErrorCode {
  if (errno === 'EPERM' || errno === 'EROFS') return 'EACCES';
  if (errno === 'EDQUOT') return 'ENOSPC';
  if (errno === 'ELOOP') return 'EINVAL';
  return (errno === undefined ? undefined : PASSED_THROUGH.get(errno)) ?? 'EIO';
}
