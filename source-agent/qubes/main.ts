#!/usr/bin/env node

// The skiff-qubes executable (wyng-util-qubes' commands over Skiff): runQubesCli as a process,
// with skiff's own signal handling (cli/process-main.ts): an interrupt aborts the skiff command
// in progress, which unwinds as in skiff, and one signal always ends the process.

import { runAsProcess } from '../cli/process-main.js';
import { runQubesCli } from './run.js';

await runAsProcess((argv, context) => runQubesCli(argv, context));
