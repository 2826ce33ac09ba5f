// TEST-ONLY: SKIFF_TEST_READ_DELAY_MS=N makes the readers of send (the source volume) and of
// receive/verify (the archive's chunks) wait N ms per chunk, so that a terminal test can watch
// the progress of a small volume for a few seconds. Not a user setting: unset, it costs nothing.

import { setTimeout as sleep } from 'node:timers/promises';

const DELAY_MS = Number(process.env['SKIFF_TEST_READ_DELAY_MS'] ?? 0) || 0;

/** Whether the delay is on: per-chunk callers test this first, so that unset it costs not even an await. */
export const TEST_READ_DELAY_ON = DELAY_MS > 0;

/** Waits the test delay for `chunks` chunks; an abort ends the wait early (the caller checks it). */
export async function testReadDelay(chunks: number, signal?: AbortSignal): Promise<void> {
  if (DELAY_MS <= 0) return;
  await sleep(DELAY_MS * chunks, undefined, signal ? { signal } : {}).catch(() => {});
}
