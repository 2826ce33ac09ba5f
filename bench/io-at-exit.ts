// Loaded with `node --import` by bench/incremental-scaling.ts: when the process exits, writes its
// /proc/self/io (all its threads: the send workers read the source too) to $SKIFF_BENCH_IO_OUT,
// so the bench counts the bytes a send read without sampling a process that is about to end.

import { readFileSync, writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const out = process.env['SKIFF_BENCH_IO_OUT'];
// --import loads it in the worker threads too; only the main thread's exit is the process's.
if (out && isMainThread) process.on('exit', () => writeFileSync(out, readFileSync('/proc/self/io')));
