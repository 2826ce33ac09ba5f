// errno codes → the error codes of the Store contract, for both ends: the helper reports its
// file-system errors with these, and the local store uses the same mapping.

import type { ErrorCode } from './messages.js';

const PASSED_THROUGH = new Set<string>(['ENOENT', 'EEXIST', 'ENOTDIR', 'EISDIR', 'EINVAL', 'EMLINK', 'ENOSPC', 'EACCES', 'EBUSY']);

/** Permission-like and quota errors fold into their kind; anything unknown is EIO. */
export function errorCodeOf(errno: string | undefined): ErrorCode {
  if (errno === 'EPERM' || errno === 'EROFS') return 'EACCES';
  if (errno === 'EDQUOT') return 'ENOSPC';
  if (errno === 'ELOOP') return 'EINVAL';
  return errno !== undefined && PASSED_THROUGH.has(errno) ? (errno as ErrorCode) : 'EIO';
}
