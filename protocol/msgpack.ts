// The msgpack subset the protocol uses: nil, booleans, safe integers, float64, UTF-8 strings,
// binary, arrays and maps with string keys. No extension types, no timestamps, no BigInt.
//
// Our own codec instead of msgpackr, because the decoder must enforce limits *while* decoding
// (string, binary, array and map sizes, nesting depth), so that a hostile peer cannot make us
// allocate or recurse beyond what a frame allows, and maps must decode to prototype-free objects
// that refuse `__proto__`-style and duplicate keys. msgpackr has no such limits. The encoder
// returns the payloads of binary fields as separate pieces, so bulk data is written to the
// stream without being copied into the frame.

export interface DecodeLimits {
  /** Bytes of one string. */
  maxString: number;
  /** Bytes of one binary value. */
  maxBinary: number;
  /** Elements of one array. */
  maxArray: number;
  /** Entries of one map. */
  maxMap: number;
  /** Nesting of arrays and maps. */
  maxDepth: number;
}

export class MsgpackError extends Error {}

export type Value = null | boolean | number | string | Uint8Array | Value[] | { [key: string]: Value };
export type ValueMap = { [key: string]: Value };

/** Whether a decoded value is a map (every message is one). */
export function isValueMap(value: Value): value is ValueMap {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array);
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

// ---- encoding ----

/** A frame body as pieces: small header runs and binary payloads, in order. */
export class Pieces {
  readonly parts: Uint8Array[] = [];
  length = 0;
  private scratch = Buffer.allocUnsafe(256);
  private used = 0;

  private room(bytes: number): Buffer {
    if (this.used + bytes > this.scratch.length) {
      this.seal();
      this.scratch = Buffer.allocUnsafe(Math.max(256, bytes));
    }
    return this.scratch;
  }

  private seal(): void {
    if (this.used === 0) return;
    this.parts.push(this.scratch.subarray(0, this.used));
    this.scratch = this.scratch.subarray(this.used);
    this.used = 0;
  }

  byte(value: number): void {
    this.room(1)[this.used++] = value;
    this.length++;
  }

  uint(prefix: number, value: number, bytes: 1 | 2 | 4): void {
    const b = this.room(1 + bytes);
    b[this.used] = prefix;
    if (bytes === 1) b[this.used + 1] = value;
    else if (bytes === 2) b.writeUInt16BE(value, this.used + 1);
    else b.writeUInt32BE(value, this.used + 1);
    this.used += 1 + bytes;
    this.length += 1 + bytes;
  }

  raw(data: Uint8Array): void {
    // Small runs are copied next to their header; large payloads travel as their own piece.
    if (data.length <= 64) {
      const b = this.room(data.length);
      b.set(data, this.used);
      this.used += data.length;
    } else {
      this.seal();
      this.parts.push(data);
    }
    this.length += data.length;
  }

  float64(value: number): void {
    const b = this.room(9);
    b[this.used] = 0xcb;
    b.writeDoubleBE(value, this.used + 1);
    this.used += 9;
    this.length += 9;
  }

  int64(prefix: number, value: number): void {
    const b = this.room(9);
    b[this.used] = prefix;
    if (prefix === 0xcf) b.writeBigUInt64BE(BigInt(value), this.used + 1);
    else b.writeBigInt64BE(BigInt(value), this.used + 1);
    this.used += 9;
    this.length += 9;
  }

  finish(): Uint8Array[] {
    this.seal();
    return this.parts;
  }
}

export function encodeValue(value: Value | undefined, out: Pieces): void {
  if (value === null || value === undefined) {
    out.byte(0xc0);
    return;
  }
  if (value === false) {
    out.byte(0xc2);
    return;
  }
  if (value === true) {
    out.byte(0xc3);
    return;
  }
  if (typeof value === 'number') {
    encodeNumber(value, out);
    return;
  }
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length < 32) out.byte(0xa0 | bytes.length);
    else if (bytes.length < 0x100) out.uint(0xd9, bytes.length, 1);
    else if (bytes.length < 0x10000) out.uint(0xda, bytes.length, 2);
    else out.uint(0xdb, bytes.length, 4);
    out.raw(bytes);
    return;
  }
  if (value instanceof Uint8Array) {
    if (value.length < 0x100) out.uint(0xc4, value.length, 1);
    else if (value.length < 0x10000) out.uint(0xc5, value.length, 2);
    else out.uint(0xc6, value.length, 4);
    out.raw(value);
    return;
  }
  if (Array.isArray(value)) {
    if (value.length < 16) out.byte(0x90 | value.length);
    else if (value.length < 0x10000) out.uint(0xdc, value.length, 2);
    else out.uint(0xdd, value.length, 4);
    for (const item of value) encodeValue(item, out);
    return;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length < 16) out.byte(0x80 | entries.length);
  else if (entries.length < 0x10000) out.uint(0xde, entries.length, 2);
  else out.uint(0xdf, entries.length, 4);
  for (const [key, item] of entries) {
    encodeValue(key, out);
    encodeValue(item, out);
  }
}

function encodeNumber(value: number, out: Pieces): void {
  if (!Number.isSafeInteger(value)) {
    if (!Number.isFinite(value)) throw new MsgpackError('cannot encode a non-finite number');
    out.float64(value);
    return;
  }
  if (value >= 0) {
    if (value < 0x80) {
      out.byte(value);
      return;
    }
    if (value < 0x100) {
      out.uint(0xcc, value, 1);
      return;
    }
    if (value < 0x10000) {
      out.uint(0xcd, value, 2);
      return;
    }
    if (value < 0x100000000) {
      out.uint(0xce, value, 4);
      return;
    }
    out.int64(0xcf, value);
    return;
  }
  if (value >= -32) {
    out.byte(value & 0xff);
    return;
  }
  out.int64(0xd3, value);
  return;
}

/** Encodes one value into a single buffer (for small messages and tests). */
export function encode(value: Value): Buffer {
  const out = new Pieces();
  encodeValue(value, out);
  return Buffer.concat(out.finish());
}

// ---- decoding ----

class Reader {
  offset = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly view: DataView,
  ) {}

  need(count: number): void {
    if (this.offset + count > this.bytes.length) throw new MsgpackError('truncated value');
  }

  /** Claims the next `count` bytes; returns where they start. */
  take(count: number): number {
    this.need(count);
    this.offset += count;
    return this.offset - count;
  }

  u8(): number {
    return this.bytes[this.take(1)]!; // take() checked the byte is there
  }
}

/**
 * Decodes exactly one value that fills `bytes`. Binary values are views into `bytes` (copy
 * them before the buffer is reused).
 */
export function decode(bytes: Uint8Array, limits: DecodeLimits): Value {
  const reader = new Reader(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const value = decodeValue(reader, limits, 0);
  if (reader.offset !== bytes.length) throw new MsgpackError(`${bytes.length - reader.offset} bytes after the value`);
  return value;
}

function decodeValue(r: Reader, limits: DecodeLimits, depth: number): Value {
  const type = r.u8();
  if (type <= 0x7f) return type;
  if (type >= 0xe0) return type - 0x100;
  if ((type & 0xe0) === 0xa0) return str(r, type & 0x1f, limits);
  if ((type & 0xf0) === 0x90) return array(r, type & 0x0f, limits, depth);
  if ((type & 0xf0) === 0x80) return map(r, type & 0x0f, limits, depth);
  const v = r.view;
  switch (type) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return bin(r, r.u8(), limits);
    case 0xc5:
      return bin(r, v.getUint16(r.take(2)), limits);
    case 0xc6:
      return bin(r, v.getUint32(r.take(4)), limits);
    case 0xca:
      return v.getFloat32(r.take(4));
    case 0xcb:
      return v.getFloat64(r.take(8));
    case 0xcc:
      return r.u8();
    case 0xcd:
      return v.getUint16(r.take(2));
    case 0xce:
      return v.getUint32(r.take(4));
    case 0xcf:
      return safe(v.getBigUint64(r.take(8)));
    case 0xd0:
      return v.getInt8(r.take(1));
    case 0xd1:
      return v.getInt16(r.take(2));
    case 0xd2:
      return v.getInt32(r.take(4));
    case 0xd3:
      return safe(v.getBigInt64(r.take(8)));
    case 0xd9:
      return str(r, r.u8(), limits);
    case 0xda:
      return str(r, v.getUint16(r.take(2)), limits);
    case 0xdb:
      return str(r, v.getUint32(r.take(4)), limits);
    case 0xdc:
      return array(r, v.getUint16(r.take(2)), limits, depth);
    case 0xdd:
      return array(r, v.getUint32(r.take(4)), limits, depth);
    case 0xde:
      return map(r, v.getUint16(r.take(2)), limits, depth);
    case 0xdf:
      return map(r, v.getUint32(r.take(4)), limits, depth);
    default:
      throw new MsgpackError(`unsupported type byte 0x${type.toString(16)}`);
  }
}

function safe(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) throw new MsgpackError('integer out of range');
  return Number(value);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function str(r: Reader, length: number, limits: DecodeLimits): string {
  if (length > limits.maxString) throw new MsgpackError(`string of ${length} bytes exceeds the limit of ${limits.maxString}`);
  const start = r.take(length);
  try {
    return utf8.decode(r.bytes.subarray(start, start + length));
  } catch {
    throw new MsgpackError('string is not valid UTF-8');
  }
}

function bin(r: Reader, length: number, limits: DecodeLimits): Uint8Array {
  if (length > limits.maxBinary) throw new MsgpackError(`binary of ${length} bytes exceeds the limit of ${limits.maxBinary}`);
  const start = r.take(length);
  return r.bytes.subarray(start, start + length);
}

function array(r: Reader, length: number, limits: DecodeLimits, depth: number): Value[] {
  if (length > limits.maxArray) throw new MsgpackError(`array of ${length} elements exceeds the limit of ${limits.maxArray}`);
  if (depth >= limits.maxDepth) throw new MsgpackError('nested too deeply');
  // Every element takes at least one byte: a length the frame cannot hold fails before allocating.
  r.need(length);
  const out: Value[] = [];
  for (let i = 0; i < length; i++) out.push(decodeValue(r, limits, depth + 1));
  return out;
}

function map(r: Reader, length: number, limits: DecodeLimits, depth: number): { [key: string]: Value } {
  if (length > limits.maxMap) throw new MsgpackError(`map of ${length} entries exceeds the limit of ${limits.maxMap}`);
  if (depth >= limits.maxDepth) throw new MsgpackError('nested too deeply');
  r.need(length * 2);
  // No prototype, so that no decoded key can reach Object.prototype; filled below, key by key.
  const out = Object.create(null) as { [key: string]: Value };
  for (let i = 0; i < length; i++) {
    const key = decodeValue(r, limits, depth + 1);
    if (typeof key !== 'string') throw new MsgpackError('map key is not a string');
    if (FORBIDDEN_KEYS.has(key)) throw new MsgpackError(`forbidden map key '${key}'`);
    if (Object.hasOwn(out, key)) throw new MsgpackError(`duplicate map key '${key}'`);
    out[key] = decodeValue(r, limits, depth + 1);
  }
  return out;
}
