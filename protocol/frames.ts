// Framing: every message is a u32 big-endian length followed by that many bytes of msgpack.
// The length is checked against MAX_FRAME_BYTES before anything is buffered, so a peer cannot
// make the reader hold more than one maximum-size frame.

import { type DecodeLimits, decode, encodeValue, Pieces, type Value } from './msgpack.js';

export class FrameError extends Error {}

/** A message as pieces ready for a vectored write: the length header, then the body. */
export function encodeFrame(message: Value, maxFrameBytes: number): Uint8Array[] {
  const body = new Pieces();
  encodeValue(message, body);
  if (body.length > maxFrameBytes) throw new FrameError(`frame of ${body.length} bytes exceeds the limit of ${maxFrameBytes}`);
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(body.length, 0);
  return [header, ...body.finish()];
}

/** Splits a byte stream into frames and decodes each one. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private expected = -1;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly limits: DecodeLimits,
  ) {}

  /** Bytes held that do not yet form a whole frame (at the end of a stream: a truncated frame). */
  get pending(): number {
    return this.buffered;
  }

  /** Adds bytes from the stream; returns the messages completed by them, in order. */
  push(chunk: Buffer): Value[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Value[] = [];
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < 4) break;
        const length = this.take(4).readUInt32BE(0);
        if (length > this.maxFrameBytes) throw new FrameError(`frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`);
        this.expected = length;
      }
      if (this.buffered < this.expected) break;
      const body = this.take(this.expected);
      this.expected = -1;
      out.push(decode(body, this.limits));
    }
    return out;
  }

  private take(count: number): Buffer {
    const first = this.chunks[0] as Buffer;
    let out: Buffer;
    if (first.length >= count) {
      out = first.subarray(0, count);
      if (first.length === count) this.chunks.shift();
      else this.chunks[0] = first.subarray(count);
    } else {
      out = Buffer.allocUnsafe(count);
      let filled = 0;
      while (filled < count) {
        const head = this.chunks[0] as Buffer;
        const n = Math.min(head.length, count - filled);
        head.copy(out, filled, 0, n);
        filled += n;
        if (n === head.length) this.chunks.shift();
        else this.chunks[0] = head.subarray(n);
      }
    }
    this.buffered -= count;
    return out;
  }
}
