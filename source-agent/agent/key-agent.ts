// The key agent (Wyng's --authmin): a small background process that keeps an archive's two root
// keys in memory for a few minutes after an unlock, so that the next runs skip the passphrase
// and the seconds of scrypt. It never writes keys anywhere; it listens on a Unix socket in a
// directory only its user can enter, and it exits when its time is up (extended by each use).
//
// Started by agent-client.ts with: argv[2] = socket path; stdin = minutes (1 byte), then
// per key: length (1 byte) + bytes. Requests on the socket: "get" → the same key records;
// "stop" → exits.

import { rmSync } from 'node:fs';
import { createServer } from 'node:net';

const socketPath = process.argv[2] as string;

function readStdin(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    process.stdin.on('data', (d: Buffer) => parts.push(d));
    process.stdin.on('end', () => resolve(Buffer.concat(parts)));
    process.stdin.on('error', reject);
  });
}

const input = await readStdin();
const minutes = input[0] as number;
const keys = Buffer.from(input.subarray(1));
input.fill(0);
if (!socketPath || minutes < 1 || keys.length < 2) process.exit(2);

let timer: NodeJS.Timeout;
const server = createServer((socket) => {
  socket.once('data', (request: Buffer) => {
    const command = request.toString('utf8').trim();
    if (command === 'get') {
      extend();
      socket.end(keys);
    } else {
      socket.end();
      if (command === 'stop') shutdown();
    }
  });
  socket.on('error', () => {});
});

function shutdown(): void {
  keys.fill(0);
  server.close();
  rmSync(socketPath, { force: true });
  process.exit(0);
}

function extend(): void {
  clearTimeout(timer);
  timer = setTimeout(shutdown, minutes * 60_000);
}

process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
rmSync(socketPath, { force: true });
// The socket file gets mode 0700: clients refuse one that others could reach (agent-client.ts).
process.umask(0o077);
server.listen(socketPath, () => extend());
