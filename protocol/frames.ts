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

/**
 * Splits a byte stream into frames and decodes each one. A frame's body is allocated once its
 * length is known (and checked), and the pieces that make it up are copied into it as they come,
 * so the work is linear in the bytes however finely the stream is split; a body that arrives
 * within one piece is decoded where it lies, without a copy.
 */
export class FrameReader {
  private readonly header = Buffer.alloc(4);
  private headerFilled = 0;
  /** The body of the frame being read, once its header is complete. */
  private body: Buffer | null = null;
  private bodyFilled = 0;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly limits: DecodeLimits,
  ) {}

  /** Bytes held that do not yet form a whole frame (at the end of a stream: a truncated frame). */
  get pending(): number {
    return this.headerFilled + this.bodyFilled;
  }

  /** Adds bytes from the stream; returns the messages completed by them, in order. */
  push(chunk: Buffer): Value[] {
    const out: Value[] = [];
    let offset = 0;
    for (;;) {
      if (this.body === null) {
        const n = Math.min(4 - this.headerFilled, chunk.length - offset);
        chunk.copy(this.header, this.headerFilled, offset, offset + n);
        this.headerFilled += n;
        offset += n;
        if (this.headerFilled < 4) break;
        const length = this.header.readUInt32BE(0);
        if (length > this.maxFrameBytes) throw new FrameError(`frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`);
        this.headerFilled = 0;
        if (chunk.length - offset >= length) {
          out.push(decode(chunk.subarray(offset, offset + length), this.limits));
          offset += length;
          continue;
        }
        this.body = Buffer.allocUnsafe(length);
        this.headerFilled = 4;
      }
      const n = Math.min(this.body.length - this.bodyFilled, chunk.length - offset);
      chunk.copy(this.body, this.bodyFilled, offset, offset + n);
      this.bodyFilled += n;
      offset += n;
      if (this.bodyFilled < this.body.length) break;
      const body = this.body;
      this.body = null;
      this.headerFilled = 0;
      this.bodyFilled = 0;
      out.push(decode(body, this.limits));
    }
    return out;
  }
}
