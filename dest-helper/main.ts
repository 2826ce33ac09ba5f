// skiff-dest-helper: runs on the destination (an ssh host or a destination qube), speaks the
// protocol on stdin/stdout, logs to stderr. Shipped as one bundled file with no dependencies;
// the agent uploads it (or qubes-rpc/ installs it) and runs it with the destination's node.

import { HelperServer } from './server.js';

// Chunk files are written and synced on libuv's thread pool; its default of 4 threads keeps
// too few syncs in flight. Effective because no pool work has started yet.
process.env['UV_THREADPOOL_SIZE'] ??= '16';

const log = (line: string) => process.stderr.write(`skiff-dest-helper[${process.pid}]: ${line}\n`);
const server = new HelperServer(process.stdout, { log });

const exit = (code: number) => {
  server.releaseNow();
  process.exit(code);
};
process.stdout.on('error', () => exit(3)); // the agent is gone
for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT', 'SIGPIPE'] as const) process.on(signal, () => exit(4));
process.on('exit', () => server.releaseNow());

process.stdin.on('data', (chunk: Buffer) => server.receive(chunk));
process.stdin.on('end', () => void server.end());
process.stdin.on('error', () => void server.end());

// No top-level await: the bundle is CommonJS, so that the upload loader can evaluate it.
void server.finished.then(() => {
  process.stdin.pause();
  // Let the last replies reach the agent before exiting.
  process.stdout.write('', () => exit(0));
});
