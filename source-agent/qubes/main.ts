#!/usr/bin/env node

// The skiff-qubes executable (wyng-util-qubes' commands over Skiff): wires the process to
// runQubesCli. An interrupt aborts the skiff command in progress, which unwinds as in skiff.

import { InterruptedError } from '../errors.js';
import { runQubesCli } from './run.js';

const controller = new AbortController();
const onSignal = () => controller.abort(new InterruptedError());
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

process.exitCode = await runQubesCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  colorDepth: 1,
  cwd: process.cwd(),
  signal: controller.signal,
  now: () => Date.now() / 1000,
});
