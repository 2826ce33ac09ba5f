// The agent's end of the protocol: requests with ids, many in flight (pipelined), replies
// matched by id and checked against the schema of the request they answer. Nothing from the
// helper is trusted: a frame that is too large, malformed, of the wrong shape, or that answers
// a request we did not make ends the connection with an error, as does a helper that exits,
// sends nothing for longer than the timeout, keeps a request past its deadline or overruns its
// budget of pieces, bytes and names (request-budget.ts). Writes are limited by a window of bytes
// in flight, so memory stays bounded however fast the source produces chunks.
// The helper's words (its error messages, what a bad frame held, its stderr) enter our messages
// only inert.

import type { Readable, Writable } from 'node:stream';
import { encodeFrame, FrameReader } from '../../../protocol/frames.js';
import { inert } from '../../../protocol/inert-text.js';
import {
  ACKNOWLEDGED,
  hasResult,
  isAcks,
  isFailure,
  isReplyTo,
  LIMITS,
  MAX_FRAME_BYTES,
  type OpName,
  type Reply,
  type RequestFields,
} from '../../../protocol/messages.js';
import { isValueMap, type Value, type ValueMap } from '../../../protocol/msgpack.js';
import { messageOf } from '../../../protocol/thrown.js';
import { StoreError } from '../store.js';
import { type RequestBudget, singleReplyBudget, transferAllowanceMs } from './request-budget.js';

export interface HelperChannel {
  /** The helper's stdout. */
  readonly readable: Readable;
  /** The helper's stdin. */
  readonly writable: Writable;
  /** What the helper (or ssh, or qvm-run) wrote to stderr lately, for error messages. */
  diagnostics(): string;
  /** Ends the helper: closes its input, and kills it if it has not exited after a grace period. */
  close(): Promise<void>;
  /** Kills the helper now (it misbehaved). */
  kill(): void;
  /** Resolves when the helper process is gone, with its exit status. */
  readonly exited: Promise<string>;
}

export interface ConnectionOptions {
  /**
   * Nothing received for this long while requests wait: the helper is considered dead. Also the
   * base of every request's deadline (request-budget.ts).
   */
  timeoutMs: number;
  /** Bytes of write payloads in flight, at most. */
  writeWindowBytes?: number;
}

/** A reply frame that is a map, not yet checked against any schema. */
type UntrustedMap = ValueMap;

interface Pending {
  op: OpName;
  path: string;
  bytes: number;
  /**
   * Checks a result frame (or ACKNOWLEDGED, for an op without a result) against the op's reply
   * schema, charges it to the budget and hands it on: to the piece callback while `more` is true,
   * else as the final reply. Returns what is wrong with it, or null. Built by request(), where
   * the op's reply type is known.
   */
  take: (untrusted: UntrustedMap) => string | null;
  reject: (error: Error) => void;
  budget: RequestBudget;
  /** When the request must be answered (Date.now() time), and how long it was given, in ms. */
  deadline: number;
  allowedMs: number;
  /** What its reply has used of the budget so far. */
  used: { pieces: number; dataBytes: number; names: number; nameBytes: number };
}

/** The connection to the helper is over (it died, stopped answering or broke the protocol). */
export class ConnectionError extends StoreError {
  constructor(reason: string) {
    super('EIO', '.', reason);
    // Not about one path: the message is the reason alone.
    this.message = reason;
  }
}

export class HelperConnection {
  private readonly reader = new FrameReader(MAX_FRAME_BYTES, LIMITS);
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | null = null;
  private lastByteAt = Date.now();
  /** The transfer bytes of the requests waiting (their deadlines allow for the ones ahead). */
  private transferInFlight = 0;
  private readonly watchdog: NodeJS.Timeout;
  private bytesInFlight = 0;
  private readonly windowWaiters: (() => void)[] = [];
  private drainWaiter: Promise<void> | null = null;
  private readonly window: number;

  constructor(
    private readonly channel: HelperChannel,
    private readonly options: ConnectionOptions,
  ) {
    this.window = options.writeWindowBytes ?? 64 * 1024 * 1024;
    channel.readable.on('data', (chunk: Buffer) => this.receive(chunk));
    channel.readable.on('end', () => void channel.exited.then((status) => this.ended(status)));
    channel.readable.on('error', (error) => this.fatal(`reading from the destination helper: ${error.message}`));
    channel.writable.on('error', (error) => {
      // A helper that ended (ssh could not connect) breaks the pipe before its end is seen; its
      // exit status and stderr say why, so they are awaited briefly before the bare EPIPE is.
      // (The exit is handled below; fatal() keeps the first reason, so a late timer is harmless.)
      setTimeout(() => this.fatal(`writing to the destination helper: ${error.message}`), 2000).unref();
    });
    void channel.exited.then((status) => this.ended(status));
    const tick = Math.max(50, Math.min(1000, options.timeoutMs / 4));
    this.watchdog = setInterval(() => this.checkTimes(), tick);
    this.watchdog.unref();
  }

  /** Sends a request and waits for its final reply (validated against the op's reply schema). */
  async request<Name extends Exclude<OpName, 'more'>>(
    op: Name,
    fields: RequestFields<Name>,
    options: {
      path?: string;
      payloadBytes?: number;
      /** Streamed results (read, list): called for every piece but the last. */
      piece?: (reply: Reply<Name>) => void;
      continuation?: Uint8Array[];
      /** What the reply may use; by default one frame, and time for the payload. */
      budget?: RequestBudget;
    } = {},
  ): Promise<Reply<Name>> {
    if (this.failure) throw this.failure;
    const bytes = options.payloadBytes ?? 0;
    while (bytes > 0 && this.bytesInFlight > 0 && this.bytesInFlight + bytes > this.window) {
      await new Promise<void>((resolve) => this.windowWaiters.push(resolve));
      if (this.failure) throw this.failure;
    }
    if (this.drainWaiter) await this.drainWaiter;
    if (this.failure) throw this.failure;
    const id = this.nextId++;
    this.bytesInFlight += bytes;
    const budget = options.budget ?? singleReplyBudget(bytes);
    const allowedMs = this.options.timeoutMs + transferAllowanceMs(this.transferInFlight + budget.transferBytes);
    this.transferInFlight += budget.transferBytes;
    const reply = new Promise<Reply<Name>>((resolve, reject) => {
      const entry: Pending = {
        op,
        path: options.path ?? '.',
        bytes,
        take: (untrusted) => {
          const streaming = untrusted['more'] === true;
          const errors: string[] = [];
          if (!isReplyTo(op, untrusted, errors)) return `${op} result: ${errors[0] ?? 'invalid'}`;
          const overrun = charge(entry, untrusted);
          if (overrun) return overrun;
          if (!streaming) {
            this.settle(id, entry);
            resolve(untrusted);
            return null;
          }
          if (!options.piece) return `streams a result for ${op} request ${id}`;
          try {
            options.piece(untrusted);
          } catch (error) {
            return messageOf(error);
          }
          return null;
        },
        reject,
        budget,
        deadline: Date.now() + allowedMs,
        allowedMs,
        used: { pieces: 0, dataBytes: 0, names: 0, nameBytes: 0 },
      };
      this.pending.set(id, entry);
    });
    if (this.pending.size === 1) this.lastByteAt = Date.now();
    this.send({ op, id, ...fields });
    // A write larger than one frame continues in "more" frames with the same id.
    const rest = options.continuation ?? [];
    rest.forEach((data, i) => {
      this.send({ op: 'more', id, data, more: i < rest.length - 1 });
    });
    return reply;
  }

  private send(message: { [key: string]: Value }): void {
    const pieces = encodeFrame(message, MAX_FRAME_BYTES);
    const out = this.channel.writable;
    out.cork();
    let ok = true;
    for (const piece of pieces) ok = out.write(piece);
    process.nextTick(() => out.uncork());
    if (!ok && !this.drainWaiter) {
      this.drainWaiter = new Promise<void>((resolve) => {
        const done = () => {
          out.off('drain', done);
          out.off('close', done);
          this.drainWaiter = null;
          resolve();
        };
        out.on('drain', done);
        out.on('close', done);
      });
    }
  }

  private receive(chunk: Buffer): void {
    if (this.failure) return;
    this.lastByteAt = Date.now();
    let messages: Value[];
    try {
      messages = this.reader.push(chunk);
    } catch (error) {
      this.fatal(`the destination helper sent a bad frame: ${messageOf(error)}`);
      return;
    }
    for (const untrusted of messages) {
      const problem = this.accept(untrusted);
      if (problem) {
        this.fatal(`the destination helper sent an invalid reply: ${problem}`);
        return;
      }
    }
  }

  /** Handles one reply; returns what is wrong with it, or null. */
  private accept(untrusted: Value): string | null {
    if (!isValueMap(untrusted)) return 'not a map';
    const errors: string[] = [];
    if ('ids' in untrusted) {
      if (!isAcks(untrusted, { errors })) return errors[0] ?? 'invalid acknowledgement';
      for (const id of untrusted.ids) {
        const entry = this.pending.get(id);
        if (!entry) return `acknowledges unknown request ${id}`;
        if (hasResult(entry.op)) return `acknowledges ${entry.op} request ${id}, which needs a result`;
        const problem = entry.take(ACKNOWLEDGED);
        if (problem) return problem;
      }
      return null;
    }
    const id = untrusted['id'];
    const entry = typeof id === 'number' ? this.pending.get(id) : undefined;
    if (!entry || typeof id !== 'number') return `answers unknown request ${JSON.stringify(id)}`;
    if (untrusted['ok'] === false) {
      if (!isFailure(untrusted, { errors })) return errors[0] ?? 'invalid failure';
      this.settle(id, entry);
      entry.reject(new StoreError(untrusted.code, entry.path, `on the destination: ${inert(untrusted.message)}`));
      return null;
    }
    if (!hasResult(entry.op)) return `sends a result for ${entry.op} request ${id}, which has none`;
    return entry.take(untrusted);
  }

  private settle(id: number, entry: Pending): void {
    this.pending.delete(id);
    this.transferInFlight -= entry.budget.transferBytes;
    if (entry.bytes > 0) {
      this.bytesInFlight -= entry.bytes;
      for (const wake of this.windowWaiters.splice(0)) wake();
    }
  }

  /** Ends the connection when the helper has been silent too long or a request is past its deadline. */
  private checkTimes(): void {
    if (this.pending.size === 0) return;
    const now = Date.now();
    if (now - this.lastByteAt > this.options.timeoutMs) {
      this.fatal(`the destination helper stopped answering (nothing for ${Math.round(this.options.timeoutMs / 1000)} s)`);
      return;
    }
    for (const entry of this.pending.values()) {
      if (now > entry.deadline) {
        const seconds = Math.round(entry.allowedMs / 1000);
        this.fatal(`the destination helper did not complete ${entry.op} of ${entry.path} within its deadline (${seconds} s)`);
        return;
      }
    }
  }

  private ended(status: string): void {
    const cut = this.reader.pending > 0 ? ` in the middle of a frame (${this.reader.pending} bytes)` : '';
    this.fatal(cut ? `the destination helper ended its output${cut} (${status})` : `the destination helper exited (${status})`);
  }

  /**
   * Ends the connection: every waiting request fails with the same error, which is returned.
   * `reason` may quote the helper (a bad frame's key, a listed name): it is made inert here.
   */
  fatal(reason: string): Error {
    if (this.failure) return this.failure;
    const diagnostics = this.channel.diagnostics().trim();
    this.failure = new ConnectionError(inert(diagnostics ? `${reason}; it said: ${diagnostics}` : reason));
    clearInterval(this.watchdog);
    for (const entry of this.pending.values()) entry.reject(this.failure);
    this.pending.clear();
    for (const wake of this.windowWaiters.splice(0)) wake();
    this.channel.kill();
    return this.failure;
  }

  /** Says goodbye (bounded wait), then ends the helper. */
  async close(): Promise<void> {
    const open = !this.failure;
    if (open) {
      const bye = this.request('bye', {}).catch(() => undefined);
      const timer = new Promise<void>((resolve) => setTimeout(resolve, Math.min(this.options.timeoutMs, 10_000)).unref());
      await Promise.race([bye, timer]);
    }
    // Closed before the helper exits, so that its exit is not taken for a failure.
    this.failure ??= new ConnectionError('the connection to the destination is closed');
    clearInterval(this.watchdog);
    if (open) this.channel.writable.end();
    await this.channel.close();
  }
}

/**
 * Counts one result frame against its request's budget, before anything in it is kept; returns
 * what it overran, or null. The frame was checked against the op's schema already.
 */
function charge(entry: Pending, untrusted: UntrustedMap): string | null {
  const { budget, used } = entry;
  const what = `${entry.op} of ${entry.path}`;
  used.pieces++;
  if (used.pieces > budget.pieces) return `${what} sent more than ${budget.pieces} pieces`;
  const data = untrusted['data'];
  if (data instanceof Uint8Array) {
    used.dataBytes += data.length;
    if (used.dataBytes > budget.dataBytes) return `${what} sent more than the ${budget.dataBytes} bytes of data it may`;
  }
  const names = untrusted['names'];
  if (Array.isArray(names)) {
    used.names += names.length;
    if (used.names > budget.names) return `${what} returned more than ${budget.names} names`;
    for (const name of names) if (typeof name === 'string') used.nameBytes += Buffer.byteLength(name);
    if (used.nameBytes > budget.nameBytes) return `${what} returned more than ${budget.nameBytes} bytes of names`;
  }
  return null;
}
