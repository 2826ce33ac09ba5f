// Talking to the key agent (key-agent.ts): where its socket lives, fetching keys, starting one
// after an unlock, and stopping it. The socket sits in a directory of mode 0700 owned by the
// user, named from the user id and the --dest URL as typed (as Wyng names its agents), so only
// that user reaches it and each archive URL has its own.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RootKeys } from '../archive/keys.js';

/** Wyng's default --authmin; at most 60. */
export const DEFAULT_AUTH_MINUTES = 5;
const MAX_AUTH_MINUTES = 60;

export function agentSocket(url: string): string {
  const uid = process.getuid?.() ?? 0;
  const dir = join(process.env['XDG_RUNTIME_DIR'] ?? tmpdir(), `skiff-agent-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stats = lstatSync(dir);
  // Refuse a directory someone else made for us to use.
  if (!stats.isDirectory() || stats.uid !== uid || (stats.mode & 0o077) !== 0) throw new Error(`unsafe agent directory ${dir}`);
  const id = createHash('sha256').update(`${uid}\0${url}`).digest('hex').slice(0, 32);
  return join(dir, `${id}.sock`);
}

function request(socketPath: string, command: 'get' | 'stop'): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    const parts: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(null);
    }, 5000);
    socket.on('connect', () => socket.write(command));
    socket.on('data', (d: Buffer) => parts.push(d));
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts));
    });
    socket.on('error', () => {
      clearTimeout(timer);
      resolve(null);
    });
  });
}

/** Keys from a running agent, or null. */
export async function keysFromAgent(url: string): Promise<RootKeys | null> {
  let reply: Buffer | null;
  try {
    reply = await request(agentSocket(url), 'get');
  } catch {
    return null;
  }
  if (!reply || reply.length < 2) return null;
  const dataLength = reply[0] as number;
  const dataKey = Buffer.from(reply.subarray(1, 1 + dataLength));
  const metadataLength = reply[1 + dataLength];
  if (metadataLength === undefined) return null;
  const metadataKey = Buffer.from(reply.subarray(2 + dataLength, 2 + dataLength + metadataLength));
  reply.fill(0);
  if (dataKey.length !== 32 || metadataKey.length !== 32) return null;
  return { dataKey, metadataKey };
}

export async function stopAgent(url: string): Promise<void> {
  try {
    await request(agentSocket(url), 'stop');
  } catch {
    // no agent
  }
}

/** Starts an agent holding `keys` for `minutes` (capped at 60). */
export function startAgent(url: string, keys: RootKeys, minutes: number): void {
  const socketPath = agentSocket(url);
  const child = spawn(process.execPath, [new URL('./key-agent.js', import.meta.url).pathname, socketPath], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  const payload = Buffer.concat([
    Buffer.from([Math.min(MAX_AUTH_MINUTES, minutes)]),
    Buffer.from([keys.dataKey.length]),
    keys.dataKey,
    Buffer.from([keys.metadataKey.length]),
    keys.metadataKey,
  ]);
  child.stdin.end(payload, () => payload.fill(0));
  child.unref();
}
