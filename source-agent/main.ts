#!/usr/bin/env node

// The skiff executable: runCli as a process (cli/process-main.ts: arguments, streams, signals,
// exit code).

import { runAsProcess } from './cli/process-main.js';
import { runCli } from './cli/run.js';

await runAsProcess(runCli);
