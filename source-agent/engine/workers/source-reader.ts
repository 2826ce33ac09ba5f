// How a send worker reads the source volume: around the page cache where it can (O_DIRECT), as
// backup tools do. A backup reads each snapshot once; through the cache it would fill dom0's
// memory with it, pushing out what the user works with, and pay for every page twice: once to
// take it into the cache (here, in a VM that hands freed memory back to its host, the largest
// part of a send's system time) and again when the next send removes the old snapshot, whose
// cached pages the kernel must drop (124 ms for 1 GiB). Direct reads go from the disk straight
// into the worker's own buffer, which is reused for every batch.
//
// Direct I/O needs the buffer, the offset and the length aligned to the device's logical block
// size. Chunks start at multiples of the chunk size (at least 64 KiB), lengths are rounded up to
// ALIGN and the bytes past the volume's end ignored, and the buffer is WebAssembly memory, which
// V8 places on page boundaries (a Buffer's memory has no such promise). Where the file system
// refuses a direct read (EINVAL), the reader says so once and reads through the cache from then
// on: the same bytes, the old way.

import { readSync } from 'node:fs';
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

/** pread as node:fs has it (a parameter for tests). */
export type ReadAt = (fd: number, buffer: Buffer, offset: number, length: number, position: number) => number;

export class SourceReader {
  private buffer: Buffer = Buffer.alloc(0);
  /** Set when a direct read was refused: every later read goes through the cache. */
  private directRefused = false;

  constructor(private readonly readAt: ReadAt = readSync) {}

  /** Whether reads still go direct (false after a refusal, or when there is no direct descriptor). */
  direct(source: SourceFds): boolean {
    return source.directFd >= 0 && !this.directRefused;
  }

  /**
   * Reads `length` bytes at `position` (or fewer where the source ends) into the reader's own
   * buffer; the view is valid until the next read. Errors are the file system's, as thrown.
   */
  read(source: SourceFds, position: number, length: number): Buffer {
    if (this.direct(source) && position % ALIGN === 0) {
      try {
        return this.readWith(source.directFd, position, length, Math.ceil(length / ALIGN) * ALIGN);
      } catch (error) {
        if (errnoOf(error) !== 'EINVAL') throw error;
        this.directRefused = true;
      }
    }
    return this.readWith(source.fd, position, length, length);
  }

  private readWith(fd: number, position: number, length: number, request: number): Buffer {
    if (this.buffer.length < request) this.buffer = pageAlignedBuffer(request);
    let done = 0;
    while (done < length) {
      const got = this.readAt(fd, this.buffer, done, request - done, position + done);
      if (got === 0) break;
      done += got;
    }
    return this.buffer.subarray(0, Math.min(done, length));
  }
}
