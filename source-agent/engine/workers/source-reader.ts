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
/**
 * Source bytes the send workers hold read ahead, all together: each worker's share (one batch
 * always). Direct reads have no read-ahead of the kernel's, so this is what keeps a cold disk
 * busy: on 2 cores, 16 MiB a worker (four 4 MiB batches) took a cold full send of 1 GiB from
 * 1.68 to 1.40 s against 8 MiB (two batches) 1.51 s (medians of 5). Shared, so that memory does
 * not grow with the number of cores: with 16 workers each holds one batch, as many bytes in all.
 */
export const READ_AHEAD_TOTAL_BYTES = 32 * 1024 * 1024;

/** One worker's share of READ_AHEAD_TOTAL_BYTES. */
export function readAheadPerWorker(workers: number): number {
  return Math.floor(READ_AHEAD_TOTAL_BYTES / Math.max(1, workers));
}
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
  /** Bytes of the buffers taken and not given back, and the takers waiting for room, in order. */
  private taken = 0;
  private readonly waiting: { bytes: number; resolve: () => void }[] = [];
  /** Set when a direct read was refused: every later read goes through the cache. */
  private directRefused = false;

  /** What each buffer taken was taken for. */
  private readonly sizes = new Map<Buffer, number>();

  /** `limit`: the bytes this reader may hold read ahead (one buffer always). */
  constructor(
    private readonly limit: number,
    private readonly readAt: ReadAt = preadAsync,
  ) {}

  /** Whether reads still go direct (false after a refusal, or when there is no direct descriptor). */
  direct(source: SourceFds): boolean {
    return source.directFd >= 0 && !this.directRefused;
  }

  /**
   * A page-aligned buffer of at least `bytes`, one given back if one is large enough; waits while
   * the buffers taken hold `limit` bytes already (never when none is taken), first come first
   * served.
   */
  async take(bytes: number): Promise<Buffer> {
    if (this.fits(bytes) && this.waiting.length === 0) this.taken += bytes;
    else await new Promise<void>((resolve) => this.waiting.push({ bytes, resolve })); // reserved by give()
    const at = this.free.findIndex((buffer) => buffer.length >= bytes);
    let buffer: Buffer;
    try {
      buffer = at >= 0 ? (this.free.splice(at, 1)[0] as Buffer) : pageAlignedBuffer(bytes);
    } catch (error) {
      this.release(bytes);
      throw error;
    }
    this.sizes.set(buffer, bytes);
    return buffer;
  }

  give(buffer: Buffer): void {
    const bytes = this.sizes.get(buffer) ?? 0;
    this.sizes.delete(buffer);
    this.free.push(buffer);
    this.release(bytes);
  }

  /** `bytes` are no longer taken: room for the next takers, in the order they came. */
  private release(bytes: number): void {
    this.taken -= bytes;
    for (let next = this.waiting[0]; next && this.fits(next.bytes); next = this.waiting[0]) {
      this.waiting.shift();
      this.taken += next.bytes;
      next.resolve();
    }
  }

  private fits(bytes: number): boolean {
    return this.taken === 0 || this.taken + bytes <= this.limit;
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
