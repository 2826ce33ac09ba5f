#!/usr/bin/env node

// The skiff executable: wires the process (arguments, streams, signals, exit code) to runCli.

import { runCli } from './cli/run.js';
import { InterruptedError } from './errors.js';

const controller = new AbortController();
let interrupts = 0;
const onSignal = () => {
  interrupts++;
  controller.abort(new InterruptedError());
  // A second interrupt does not wait for the current chunk to finish.
  if (interrupts > 1) {
    process.stderr.write('\n*** Interrupt.\n');
    process.exit(8);
  }
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const code = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  colorDepth: 1,
  cwd: process.cwd(),
  signal: controller.signal,
  now: () => Date.now() / 1000,
});
process.exitCode = code;
