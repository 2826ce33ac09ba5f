// The base of every command that changes the archive (send, prune, delete, rename, add,
// arch-deduplicate, arch-check repairs): it opens the archive for writing, takes the
// destination's lock, builds a writer whose nonce counters can never repeat, and finishes or
// rolls back whatever an interrupted earlier write left behind — from the destination alone
// (engine/maintain/recover.ts) — before the command does anything of its own.

import { Option } from 'clipanion';
import type { Archive } from '../archive/archive.js';
import { ArchiveWriter } from '../archive/archive-writer.js';
import { NonceCounters } from '../archive/nonces.js';
import { recoverInterruptedWrites } from '../engine/maintain/recover.js';
import type { Output } from '../engine/output.js';
import type { WriteContext } from '../engine/write-context.js';
import { DestinationNotReadyError } from '../errors.js';
import type { LocalState } from '../state/local-state.js';
import { isNotFound, StoreError, type StoreLock } from '../store/store.js';
import { onInterrupt } from '../sys/interrupt.js';
import type { DestUrl } from './dest-url.js';
import { SkiffCommand } from './skiff-command.js';

/** How far ahead of the last used nonce counter a run reserves, before it uses any. */
const COUNTER_RESERVE = 1n << 24n;

export interface WriteAccess extends WriteContext {
  dest: DestUrl;
}

export abstract class WriteCommand extends SkiffCommand {
  forceRetry = Option.Boolean('--force-retry', false, {
    description: 'Retry completing an interrupted operation that an earlier run already failed to complete',
  });

  private heldLock: StoreLock | null = null;
  private forgetLock: () => void = () => {};

  protected override async releaseResources(): Promise<void> {
    const lock = this.heldLock;
    this.heldLock = null;
    this.forgetLock();
    await lock?.release();
  }

  /**
   * Opens the archive for a write: authenticated, rollback-checked, locked, with earlier
   * interrupted writes completed or rolled back. The lock is released when the command ends.
   */
  async openForWrite(out: Output): Promise<WriteAccess> {
    const { archive, dest, state } = await this.openArchive(out, { write: true });
    const store = archive.store;
    this.heldLock = await store.lock().catch((error: unknown) => {
      if (error instanceof StoreError && error.code === 'EBUSY') throw new DestinationNotReadyError(error.message);
      throw error;
    });
    const lock = this.heldLock;
    // Released even when an interrupted run cannot unwind in time.
    this.forgetLock = onInterrupt(() => lock.release());
    // Write commands always have it (openState throws when it cannot be opened).
    if (!state) throw new Error('a write command without local state');
    const localState = state;
    const writer = await makeWriter(archive, localState, this.context.now);
    const persist = async () => {
      await localState.saveRoot(archive.rootBytes);
      if (writer.counters) {
        await localState.saveCounters({
          data: writer.counters.data + COUNTER_RESERVE,
          metadata: writer.counters.metadata + COUNTER_RESERVE,
        });
      }
    };
    const ctx: WriteContext = { archive, writer, state: localState, forceRetry: this.forceRetry, persist };
    await recoverInterruptedWrites(ctx, out);
    return { ...ctx, dest };
  }
}

/** A writer whose counters start above every value this machine or the archive recorded. */
async function makeWriter(archive: Archive, state: LocalState, now: () => number): Promise<ArchiveWriter> {
  if (!archive.keys) return new ArchiveWriter(archive, null, now);
  const local = await state.counters().catch((error: unknown) => {
    if (isNotFound(error)) return null;
    throw error;
  });
  const max = (a: bigint, b: bigint) => (a > b ? a : b);
  const start = {
    data: max(archive.ini.dataCounter ?? 0n, local?.data ?? 0n),
    metadata: max(archive.ini.metadataCounter ?? 0n, local?.metadata ?? 0n),
  };
  const counters = new NonceCounters(archive.ini.mode.nonceStyle ?? 'msr', archive.keys.metadataNonceKey, start, now);
  // Reserve ahead before any nonce is used, so that a crash cannot lead to reuse.
  await state.saveCounters({ data: counters.data + COUNTER_RESERVE, metadata: counters.metadata + COUNTER_RESERVE });
  return new ArchiveWriter(archive, counters, now);
}
