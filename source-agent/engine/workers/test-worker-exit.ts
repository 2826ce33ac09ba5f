// TEST-ONLY: SKIFF_TEST_WORKER_EXIT_AFTER=N makes every send and decode worker thread exit (as a
// crashed thread would: process.exit inside the thread ends only that thread) when its N+1-th
// job arrives, so that tests can show a worker dying mid-send or mid-receive fails the run
// cleanly. Not a user setting: unset, it costs one comparison per job.

const EXIT_AFTER = Number(process.env['SKIFF_TEST_WORKER_EXIT_AFTER'] ?? -1);
let jobs = 0;

/** Called by a worker as each job arrives; ends the thread once the test's count is reached. */
export function testWorkerExit(): void {
  if (!(EXIT_AFTER >= 0)) return;
  if (jobs++ >= EXIT_AFTER) process.exit(70);
}
