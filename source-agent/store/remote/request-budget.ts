// What one request to the destination helper may cost: a deadline and a budget of reply pieces,
// data bytes and listed names, in proportion to what the request can legitimately need. Without
// them a helper could keep a request alive for ever (a byte every few seconds resets an idle
// timer; empty `more: true` pieces cost nothing to send) or grow the agent's memory without
// limit (a list that never ends). A request that overruns either ends the connection.
//
// Deadline, from the moment the request is sent:
//   timeout + (its transfer bytes + those of the requests already waiting) / MIN_BYTES_PER_SECOND
// where timeout is the helper's idle timeout (SKIFF_DEST_TIMEOUT, 300 s by default) and the
// transfer bytes of a request are the most it can move: a write's payload, a read's bound, a
// list's name bytes. Requests are answered roughly in order, so the bytes ahead count too.

import { LIST_PIECE_NAMES } from '../../../protocol/messages.js';

/** The slowest link a legitimate transfer is given time for: 32 KiB/s (256 kbit/s). */
export const MIN_BYTES_PER_SECOND = 32 * 1024;

/**
 * Names one list may return. The largest directories of an archive are a session directory (one
 * subdirectory per 256 MiB of volume: 2^20 for a 256 TiB volume), a volume directory (at most
 * 16384 sessions) and a chunk subdirectory (4096 chunk files at 64 KiB chunks, and as many
 * leftover links).
 */
export const MAX_LIST_NAMES = 1 << 20;
/** Their UTF-8 bytes together: 32 a name on average (Skiff's names have 9 to 21). */
export const MAX_LIST_NAME_BYTES = 32 * MAX_LIST_NAMES;

const MiB = 1024 * 1024;
/** Pieces a reply may take besides those its size calls for. */
const SPARE_PIECES = 8;

export interface RequestBudget {
  /** The most bytes the request moves either way; sets the deadline's allowance. */
  readonly transferBytes: number;
  /** Data bytes its reply may carry (read). */
  readonly dataBytes: number;
  /** Names its reply may carry (list), and their UTF-8 bytes. */
  readonly names: number;
  readonly nameBytes: number;
  /** Reply frames, the final one included. */
  readonly pieces: number;
}

/** A request answered by one frame (an ack, a failure, a small result); `payloadBytes` sent with it. */
export function singleReplyBudget(payloadBytes = 0): RequestBudget {
  return { transferBytes: payloadBytes, dataBytes: 0, names: 0, nameBytes: 0, pieces: 1 };
}

/** A read of at most `maxBytes`: data pieces of up to 2 MiB + 64 KiB, so four a MiB is ample. */
export function readBudget(maxBytes: number): RequestBudget {
  return { transferBytes: maxBytes, dataBytes: maxBytes, names: 0, nameBytes: 0, pieces: SPARE_PIECES + 4 * Math.ceil(maxBytes / MiB) };
}

/** A list of at most `maxNames` names: pieces of up to 4096 names, so four pieces per 4096. */
export function listBudget(maxNames = MAX_LIST_NAMES): RequestBudget {
  const nameBytes = Math.min(MAX_LIST_NAME_BYTES, 32 * maxNames);
  return {
    transferBytes: nameBytes,
    dataBytes: 0,
    names: maxNames,
    nameBytes,
    pieces: SPARE_PIECES + 4 * Math.ceil(maxNames / LIST_PIECE_NAMES),
  };
}

/** How long moving `bytes` may take at the slowest link allowed. */
export function transferAllowanceMs(bytes: number): number {
  return Math.ceil((bytes / MIN_BYTES_PER_SECOND) * 1000);
}
