// The messages of the agent ↔ dest-helper protocol, as typanion schemas that both ends check
// at run time (doc/protocol.md describes each operation's contract). Every request carries an
// id; the helper answers each one with exactly one final reply: an error, a batch of plain
// acknowledgements, or a result (read and list results may come in several pieces first).

import * as t from 'typanion';

/** Bumped on any incompatible change; `hello` fails unless both ends speak the same version. */
export const PROTOCOL_VERSION = 1;

/** Largest data payload in one frame: a whole chunk file of the largest chunk size fits. */
export const DATA_PIECE_BYTES = 2 * 1024 * 1024 + 64 * 1024;
/** Largest frame, checked before a frame is buffered or decoded. */
export const MAX_FRAME_BYTES = DATA_PIECE_BYTES + 64 * 1024;
/** Names in one list reply piece. */
export const LIST_PIECE_NAMES = 4096;
/** Longest archive path, and longest name in a list reply. */
export const MAX_PATH_BYTES = 4096;
/** Renames in one batch. */
export const MAX_RENAMES = 4096;

export const LIMITS = {
  maxString: 64 * 1024,
  maxBinary: DATA_PIECE_BYTES,
  maxArray: 1 << 16,
  maxMap: 32,
  maxDepth: 4,
} as const;

/** The error codes of the Store contract (source-agent/store/store.ts), which replies carry. */
export const ERROR_CODES = [
  'ENOENT',
  'EEXIST',
  'ENOTDIR',
  'EISDIR',
  'EINVAL',
  'TOO_LARGE',
  'EMLINK',
  'ENOSPC',
  'EACCES',
  'EBUSY',
  'EIO',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

const isId = t.cascade(t.isNumber(), [t.isInteger(), t.isInInclusiveRange(0, 2 ** 48)]);
const isSize = t.cascade(t.isNumber(), [t.isInteger(), t.isInInclusiveRange(0, Number.MAX_SAFE_INTEGER)]);
const isPath = t.cascade(t.isString(), [t.hasMaxLength(MAX_PATH_BYTES)]);
// Decoded data are views into the frame's buffer, of any ArrayBuffer kind.
const isBytes: t.StrictValidator<unknown, Uint8Array> = t.isInstanceOf(Uint8Array);

const op = <const Name extends string, Fields extends { [key: string]: t.AnyStrictValidator }>(name: Name, fields: Fields) =>
  t.isObject({ op: t.isLiteral(name), id: isId, ...fields });

export const REQUESTS = {
  /** First request: protocol version and the archive directory (created when `create`). */
  hello: op('hello', { version: isSize, root: isPath, create: t.isBoolean() }),
  stat: op('stat', { path: isPath }),
  list: op('list', { path: isPath }),
  /** Whole file, or TOO_LARGE when it has more than `max` bytes. */
  read: op('read', { path: isPath, max: isSize }),
  /** `size` bytes in all: `data` now, and `more` frames while `more` is true. */
  write: op('write', { path: isPath, mode: t.isEnum(['replace', 'new'] as const), size: isSize, data: isBytes, more: t.isBoolean() }),
  /** The next piece of the write with the same id. */
  more: op('more', { data: isBytes, more: t.isBoolean() }),
  mkdir: op('mkdir', { path: isPath }),
  link: op('link', { from: isPath, to: isPath }),
  rename: op('rename', { pairs: t.cascade(t.isArray(t.isTuple([isPath, isPath])), [t.hasMaxLength(MAX_RENAMES)]) }),
  remove: op('remove', { path: isPath }),
  removeTree: op('removeTree', { path: isPath }),
  fsyncDir: op('fsyncDir', { path: isPath }),
  flush: op('flush', {}),
  free: op('free', {}),
  lock: op('lock', {}),
  unlock: op('unlock', {}),
  bye: op('bye', {}),
} as const;

export type OpName = keyof typeof REQUESTS;
export type Request<Name extends OpName = OpName> = t.InferType<(typeof REQUESTS)[Name]>;

export function isOpName(name: unknown): name is OpName {
  return typeof name === 'string' && Object.hasOwn(REQUESTS, name);
}

/** Checks `value` against the request schema of `op`; the first problem goes to `errors`. */
export function isRequest<Name extends OpName>(op: Name, value: unknown, errors: string[]): value is Request<Name> {
  const schema: t.StrictValidator<unknown, unknown> = REQUESTS[op];
  return schema(value, { errors });
}

const isKind = t.isEnum(['file', 'directory', 'other'] as const);

/** Result fields per operation (besides id and ok); operations not listed reply with an ack. */
export const RESULTS = {
  hello: t.isObject({ id: isId, ok: t.isLiteral(true), version: isSize, helper: t.cascade(t.isString(), [t.hasMaxLength(200)]) }),
  stat: t.isObject({
    id: isId,
    ok: t.isLiteral(true),
    stat: t.isNullable(t.isObject({ kind: isKind, size: isSize, links: isSize })),
  }),
  list: t.isObject({
    id: isId,
    ok: t.isLiteral(true),
    names: t.cascade(t.isArray(isPath), [t.hasMaxLength(LIST_PIECE_NAMES)]),
    more: t.isBoolean(),
  }),
  read: t.isObject({ id: isId, ok: t.isLiteral(true), size: isSize, data: isBytes, more: t.isBoolean() }),
  free: t.isObject({ id: isId, ok: t.isLiteral(true), bytes: isSize }),
} as const;

export type ResultOp = keyof typeof RESULTS;
export type Result<Name extends ResultOp> = t.InferType<(typeof RESULTS)[Name]>;

export function hasResult(name: OpName): name is ResultOp {
  return Object.hasOwn(RESULTS, name);
}

/** Successful operations without a result, acknowledged together. */
export const isAcks = t.isObject({ ok: t.isLiteral(true), ids: t.isArray(isId) });
export type Acks = t.InferType<typeof isAcks>;

/** How one request without a result learns it succeeded (its id was in an Acks frame). */
const isAcknowledged = t.isObject({ ok: t.isLiteral(true) });
export const ACKNOWLEDGED: t.InferType<typeof isAcknowledged> = { ok: true };

/** Each operation's successful reply: its result, or the plain acknowledgement. */
export const REPLIES = {
  ...RESULTS,
  write: isAcknowledged,
  more: isAcknowledged,
  mkdir: isAcknowledged,
  link: isAcknowledged,
  rename: isAcknowledged,
  remove: isAcknowledged,
  removeTree: isAcknowledged,
  fsyncDir: isAcknowledged,
  flush: isAcknowledged,
  lock: isAcknowledged,
  unlock: isAcknowledged,
  bye: isAcknowledged,
} as const satisfies { [Name in OpName]: t.AnyStrictValidator };

/** What a request of `Name` carries besides its op and id. */
export type RequestFields<Name extends OpName> = Omit<Request<Name>, 'op' | 'id'>;
/** The successful reply to a request of `Name`, as its schema in REPLIES describes it. */
export type Reply<Name extends OpName> = t.InferType<(typeof REPLIES)[Name]>;

/** Checks `value` against the reply schema of `op`; the first problem goes to `errors`. */
export function isReplyTo<Name extends OpName>(op: Name, value: unknown, errors: string[]): value is Reply<Name> {
  const schema: t.StrictValidator<unknown, unknown> = REPLIES[op];
  return schema(value, { errors });
}

export const isFailure = t.isObject({
  id: isId,
  ok: t.isLiteral(false),
  code: t.isEnum(ERROR_CODES),
  message: t.cascade(t.isString(), [t.hasMaxLength(4096)]),
});
export type Failure = t.InferType<typeof isFailure>;

/** Validates `value` against `schema`; returns the first problem, or null when it is valid. */
export function problemWith(schema: t.StrictValidator<unknown, unknown>, value: unknown): string | null {
  const errors: string[] = [];
  return schema(value, { errors }) ? null : (errors[0] ?? 'invalid message');
}
