// How a send worker reads the source volume: around the page cache where it can (O_DIRECT), as
// backup tools do. A backup reads each snapshot once; through the cache it would fill dom0's
// memory with it, pushing out what the user works with, and pay for every page twice: once to
// take it into the cache (here, in a VM that hands freed memory back to its host, the largest
// part of a send's system time) and again when the next send removes the old snapshot, whose
// cached pages the kernel must drop (124 ms for 1 GiB).
//
// Direct reads have no read-ahead: the kernel no longer fetches the next megabytes while a worker
// compresses the last ones. So a worker starts the reads of each batch as soon as the batch
// arrives (asynchronously, on libuv's thread pool), while it still works on earlier ones: with
// four batches queued per worker, several reads are in flight, as read-ahead would have them.
//
// Direct I/O needs the buffer, the offset and the length aligned to the device's logical block
// size. Chunks start at multiples of the chunk size (at least 64 KiB), lengths are rounded up to
// ALIGN and the bytes past the volume's end ignored, and the buffers are WebAssembly memory,
// which V8 places on page boundaries (a Buffer's memory has no such promise), reused from batch
// to batch. Where the file system refuses a direct read (EINVAL), the reader reads through the
// cache from then on: the same bytes, the old way.

import { read } from 'node:fs';
import { errnoOf } from '../../../protocol/thrown.js';

// The one WebAssembly API used here (our lib settings have no WebAssembly types).
interface WasmMemoryApi {
  Memory: new (descriptor: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmMemoryApi }).WebAssembly;

/** Offsets and lengths of direct reads are multiples of this (4 KiB covers 512-byte and 4 KiB logical blocks). */
export const ALIGN = 4096;
const WASM_PAGE = 65536;

/** The two descriptors of the source the main thread opened: through the cache, and direct (-1: none). */
export interface SourceFds {
  readonly fd: number;
  readonly directFd: number;
}

/** A buffer of at least `bytes` whose memory starts on a page boundary. */
export function pageAlignedBuffer(bytes: number): Buffer {
  const pages = Math.max(1, Math.ceil(bytes / WASM_PAGE));
  const memory = new Wasm.Memory({ initial: pages, maximum: pages });
  return Buffer.from(memory.buffer, 0, pages * WASM_PAGE);
}

/** Bytes `length` takes in a buffer for a direct read: rounded up to ALIGN. */
export function alignedLength(length: number): number {
  return Math.ceil(length / ALIGN) * ALIGN;
}

/** pread as node:fs has it, asynchronous (a parameter for tests). */
export type ReadAt = (fd: number, buffer: Buffer, offset: number, length: number, position: number) => Promise<number>;

const preadAsync: ReadAt = (fd, buffer, offset, length, position) =>
  new Promise((resolve, reject) => read(fd, buffer, offset, length, position, (error, bytes) => (error ? reject(error) : resolve(bytes))));

export class SourceReader {
  /** Buffers given back, for the next batches (fresh memory costs a page fault a page). */
  private readonly free: Buffer[] = [];
  /** Set when a direct read was refused: every later read goes through the cache. */
  private directRefused = false;

  constructor(private readonly readAt: ReadAt = preadAsync) {}

  /** Whether reads still go direct (false after a refusal, or when there is no direct descriptor). */
  direct(source: SourceFds): boolean {
    return source.directFd >= 0 && !this.directRefused;
  }

  /** A page-aligned buffer of at least `bytes`, one given back if one is large enough. */
  take(bytes: number): Buffer {
    const at = this.free.findIndex((buffer) => buffer.length >= bytes);
    if (at >= 0) return this.free.splice(at, 1)[0] as Buffer;
    return pageAlignedBuffer(bytes);
  }

  give(buffer: Buffer): void {
    this.free.push(buffer);
  }

  /**
   * Reads `length` bytes at `position` (or fewer where the source ends) into `into` at `offset`
   * (a multiple of ALIGN, with alignedLength(length) bytes of room). Returns the bytes read.
   * Errors are the file system's, as thrown.
   */
  async read(source: SourceFds, position: number, length: number, into: Buffer, offset: number): Promise<Buffer> {
    if (this.direct(source) && position % ALIGN === 0) {
      try {
        return await this.readWith(source.directFd, position, length, into, offset, alignedLength(length));
      } catch (error) {
        if (errnoOf(error) !== 'EINVAL') throw error;
        this.directRefused = true;
      }
    }
    return this.readWith(source.fd, position, length, into, offset, length);
  }

  private async readWith(fd: number, position: number, length: number, into: Buffer, offset: number, request: number): Promise<Buffer> {
    let done = 0;
    while (done < length) {
      const got = await this.readAt(fd, into, offset + done, request - done, position + done);
      if (got === 0) break;
      done += got;
    }
    return into.subarray(offset, offset + Math.min(done, length));
  }
}
