// The helper's side of the protocol: reads frames, checks each request against its schema,
// runs it, and answers. Requests run concurrently, as calls on a local Store do (the agent
// awaits what depends on what); the pieces of one write are applied in order. Plain successes
// are acknowledged together, once per turn of the event loop, instead of one frame each.

import type { Writable } from 'node:stream';
import { encodeFrame, FrameReader } from '../protocol/frames.js';
import { isOpName, isRequest, LIMITS, MAX_FRAME_BYTES, PROTOCOL_VERSION, type Request } from '../protocol/messages.js';
import { isValueMap, type Value } from '../protocol/msgpack.js';
import { messageOf } from '../protocol/thrown.js';
import { openArchive } from './confine.js';
import { asHelperError, HelperError } from './helper-error.js';
import { Operations, type PendingWrite } from './operations.js';

export const HELPER_VERSION = 'skiff-dest-helper 1';

interface WriteState {
  size: number;
  received: number;
  chain: Promise<PendingWrite | null>;
  failed: boolean;
}

export interface ServeOptions {
  /** Logs a line for the agent's error messages (the helper's stderr). */
  log?: (line: string) => void;
}

export class HelperServer {
  private readonly reader = new FrameReader(MAX_FRAME_BYTES, LIMITS);
  private ops: Operations | null = null;
  private readonly writes = new Map<number, WriteState>();
  private acks: number[] = [];
  private ackScheduled = false;
  private readonly active = new Set<Promise<void>>();
  private closed = false;
  /** Resolves when the session should end (bye, or a protocol violation). */
  readonly finished: Promise<void>;
  private finish!: () => void;

  constructor(
    private readonly output: Writable,
    private readonly options: ServeOptions = {},
  ) {
    this.finished = new Promise((resolve) => {
      this.finish = resolve;
    });
  }

  /** Bytes from the agent. A malformed frame ends the session. */
  receive(chunk: Buffer): void {
    if (this.closed) return;
    let messages: Value[];
    try {
      messages = this.reader.push(chunk);
    } catch (error) {
      this.violation(`bad frame from the agent: ${messageOf(error)}`);
      return;
    }
    for (const message of messages) this.dispatch(message);
  }

  /** The agent closed its side: finish what is running, drop unfinished writes, release the lock. */
  async end(): Promise<void> {
    if (this.reader.pending > 0) this.options.log?.(`input ended inside a frame (${this.reader.pending} bytes)`);
    this.closed = true;
    await Promise.allSettled([...this.active]);
    for (const state of this.writes.values()) await (await state.chain.catch(() => null))?.abandon();
    this.writes.clear();
    await this.ops?.unlock().catch(() => {});
    this.ops?.archive.close();
    this.finish();
  }

  /** At process exit: the lock must not outlive the helper. */
  releaseNow(): void {
    this.ops?.unlockNow();
  }

  /** The archive's operations; dispatch() lets nothing but hello through before hello opens it. */
  private opened(): Operations {
    if (!this.ops) throw new HelperError('EINVAL', 'the first request must be hello');
    return this.ops;
  }

  private violation(message: string): void {
    this.options.log?.(message);
    this.closed = true;
    this.finish();
  }

  private dispatch(message: Value): void {
    const op = isValueMap(message) ? message['op'] : undefined;
    const id = isValueMap(message) ? message['id'] : undefined;
    if (!isOpName(op) || typeof id !== 'number') {
      this.violation(`request without a known op and id: ${JSON.stringify(op)}`);
      return;
    }
    const errors: string[] = [];
    if (!isRequest(op, message, errors)) {
      this.fail(id, new HelperError('EINVAL', `bad ${op} request: ${errors[0] ?? 'invalid message'}`));
      return;
    }
    if (!this.ops && op !== 'hello') {
      this.fail(id, new HelperError('EINVAL', 'the first request must be hello'));
      this.violation('request before hello');
      return;
    }
    if (op === 'bye') {
      // The agent is done: finish what runs, answer, release the lock, end.
      this.closed = true;
      void Promise.allSettled([...this.active]).then(async () => {
        await this.ops?.unlock().catch(() => {});
        this.ops?.archive.close();
        this.ack(id);
        this.flushAcks();
        this.finish();
      });
      return;
    }
    const run = this.run(message).catch((error: unknown) => this.fail(id, asHelperError(error)));
    this.active.add(run);
    void run.finally(() => this.active.delete(run));
  }

  private async run(request: Request): Promise<void> {
    if (request.op === 'hello') return this.hello(request);
    const ops = this.opened();
    const { id } = request;
    switch (request.op) {
      case 'stat': {
        const stat = await ops.stat(request.path);
        return this.reply({ id, ok: true, stat: stat ? { ...stat } : null });
      }
      case 'list':
        return ops.list(request.path, (names, more) => this.reply({ id, ok: true, names, more }));
      case 'read':
        return ops.read(request.path, request.max, (size, data, more) => this.reply({ id, ok: true, size, data, more }));
      case 'write':
        return this.startWrite(request);
      case 'more':
        return this.continueWrite(request);
      case 'free':
        return this.reply({ id, ok: true, bytes: await ops.free() });
      case 'mkdir':
        await ops.mkdir(request.path);
        break;
      case 'link':
        await ops.link(request.from, request.to);
        break;
      case 'rename':
        await ops.rename(request.pairs);
        break;
      case 'remove':
        await ops.remove(request.path);
        break;
      case 'removeTree':
        await ops.removeTree(request.path);
        break;
      case 'fsyncDir':
        await ops.fsyncDir(request.path);
        break;
      case 'flush':
        await ops.flush();
        break;
      case 'lock':
        await ops.lock();
        break;
      case 'unlock':
        await ops.unlock();
        break;
      case 'bye':
        throw new HelperError('EINVAL', 'bye is handled on arrival');
    }
    this.ack(id);
  }

  private async hello(request: Request<'hello'>): Promise<void> {
    if (this.ops) throw new HelperError('EINVAL', 'hello sent twice');
    if (request.version !== PROTOCOL_VERSION) {
      this.fail(
        request.id,
        new HelperError('EINVAL', `protocol version ${request.version} requested; this helper speaks ${PROTOCOL_VERSION}`),
      );
      this.violation('protocol version mismatch');
      return;
    }
    this.ops = new Operations(await openArchive(request.root, request.create));
    await this.reply({ id: request.id, ok: true, version: PROTOCOL_VERSION, helper: HELPER_VERSION });
  }

  private async startWrite(request: Request<'write'>): Promise<void> {
    if (this.writes.has(request.id)) throw new HelperError('EINVAL', `write ${request.id} is already open`);
    if (request.mode === 'new' && !request.more) {
      if (request.data.length !== request.size)
        throw new HelperError('EINVAL', `write ${request.id}: ${request.data.length} bytes of the ${request.size} announced`);
      await this.opened().writeNewWhole(request.path, request.data);
      this.ack(request.id);
      return;
    }
    const state: WriteState = { size: request.size, received: 0, chain: Promise.resolve(null), failed: false };
    this.writes.set(request.id, state);
    state.chain = this.opened().startWrite(request.path, request.mode);
    await this.addPiece(request.id, state, request.data, request.more);
  }

  private async continueWrite(request: Request<'more'>): Promise<void> {
    const state = this.writes.get(request.id);
    if (!state) throw new HelperError('EINVAL', `no open write ${request.id}`);
    await this.addPiece(request.id, state, request.data, request.more);
  }

  /** Queues a piece behind the earlier ones; the last one finishes the file and answers. */
  private async addPiece(id: number, state: WriteState, data: Uint8Array, more: boolean): Promise<void> {
    state.received += data.length;
    const tooMuch = state.received > state.size;
    const short = !more && state.received !== state.size;
    // The frame's buffer is not reused by the reader, so the view stays valid until written.
    state.chain = state.chain.then(async (pending) => {
      if (!pending || state.failed) return pending;
      if (tooMuch) throw new HelperError('EINVAL', `write ${id}: more than the ${state.size} bytes announced`);
      await pending.append(data);
      return pending;
    });
    if (more && !tooMuch) {
      // Errors surface with the last piece; until then the chain only carries them.
      state.chain = state.chain.catch(async (error: unknown) => {
        state.failed = true;
        this.fail(id, asHelperError(error));
        return null;
      });
      return;
    }
    this.writes.delete(id);
    const pending = await state.chain;
    if (!pending || state.failed) return;
    try {
      if (short) throw new HelperError('EINVAL', `write ${id}: ${state.received} bytes of the ${state.size} announced`);
      await pending.finish();
    } catch (error) {
      await pending.abandon();
      throw error;
    }
    this.ack(id);
  }

  private ack(id: number): void {
    this.acks.push(id);
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    setImmediate(() => this.flushAcks());
  }

  private flushAcks(): void {
    this.ackScheduled = false;
    if (this.acks.length === 0) return;
    const ids = this.acks;
    this.acks = [];
    void this.reply({ ok: true, ids });
  }

  private fail(id: number, error: HelperError): void {
    void this.reply({ id, ok: false, code: error.code, message: error.message.slice(0, 4000) });
  }

  /** Writes one frame; resolves once the output can take more (bounded memory for reads). */
  private reply(message: Value): Promise<void> {
    if (this.output.destroyed) return Promise.resolve();
    const pieces = encodeFrame(message, MAX_FRAME_BYTES);
    this.output.cork();
    let ok = true;
    for (const piece of pieces) ok = this.output.write(piece);
    process.nextTick(() => this.output.uncork());
    if (ok) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.output.off('drain', done);
        this.output.off('close', done);
        resolve();
      };
      this.output.on('drain', done);
      this.output.on('close', done);
    });
  }
}
