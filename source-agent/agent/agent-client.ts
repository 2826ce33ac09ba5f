// Talking to the key agent (key-agent.ts): where its socket lives, fetching keys, starting one
// after an unlock, and stopping it. The socket sits in a directory of mode 0700 owned by the
// user, named from the user id and the archive's identity (destIdentity: every spelling of one
// destination reaches one agent), so only that user reaches it and each archive has its own.
//
// Whoever answers on the socket hands us the keys we then encrypt new data with, so the client
// trusts it only if nobody else could have put it there. Node has no SO_PEERCRED, so right
// before each connect the client checks with lstat that the directory is a real directory of
// ours with mode 0700 and the socket a socket of ours that nobody else may connect to (no
// group/other write bit; the agent listens under umask 077, agents of older versions under
// 022). Only our uid or root can create or replace entries in such a directory, so this stands
// in for the peer's credentials; root is not defended against. (Finding the listening process
// through /proc/net/unix and every /proc/<pid>/fd was judged too slow and racy to rely on.)
// Anything else stops the run with AgentError (exit 1) naming the path and the problem.

import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, type Stats } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RootKeys } from '../archive/keys.js';
import { AgentError } from '../errors.js';
import { spawnDetachedWithSecret } from '../sys/exec.js';

/** Wyng's default --authmin; at most 60. */
export const DEFAULT_AUTH_MINUTES = 5;
const MAX_AUTH_MINUTES = 60;

const ownUid = (): number => process.getuid?.() ?? 0;

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new AgentError(`Cannot use the key agent directory '${path}': ${(error as Error).message}`);
  }
}

/** Why a directory or socket of the agent cannot be trusted, or null. */
function ownershipProblem(stats: Stats, kind: 'directory' | 'socket'): string | null {
  const isKind = kind === 'directory' ? stats.isDirectory() : stats.isSocket();
  if (!isKind) return `is not a ${kind}`;
  if (stats.uid !== ownUid()) return `is owned by uid ${stats.uid}, not ${ownUid()}`;
  // Others may not enter the directory; on a socket, write permission is what connecting needs.
  const open = kind === 'directory' ? 0o077 : 0o022;
  if ((stats.mode & open) !== 0) return `has mode ${(stats.mode & 0o777).toString(8).padStart(4, '0')}, open to others`;
  return null;
}

/**
 * The agent directory, checked; created (0700) when `create`, else null when it does not exist.
 * `$XDG_RUNTIME_DIR` is private to the user; /tmp is the fallback, where another user could
 * make the directory first: that is refused, not used.
 */
function agentDirectory(create: boolean): string | null {
  const dir = join(process.env['XDG_RUNTIME_DIR'] ?? tmpdir(), `skiff-agent-${ownUid()}`);
  if (create) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new AgentError(`Cannot make the key agent directory '${dir}': ${(error as Error).message}`);
    }
  }
  const stats = lstatOrNull(dir);
  if (!stats) return null;
  const problem = ownershipProblem(stats, 'directory');
  if (problem) throw new AgentError(`Key agent directory ${dir} ${problem}; remove it or set XDG_RUNTIME_DIR to a private directory.`);
  return dir;
}

function socketName(identity: string): string {
  return `${createHash('sha256').update(`${ownUid()}\0${identity}`).digest('hex').slice(0, 32)}.sock`;
}

/** The socket of the agent for `identity` if one is there and trusted; null if there is none. */
function trustedSocket(identity: string): string | null {
  const dir = agentDirectory(false);
  if (!dir) return null;
  const path = join(dir, socketName(identity));
  const stats = lstatOrNull(path);
  if (!stats) return null;
  const problem = ownershipProblem(stats, 'socket');
  if (problem) throw new AgentError(`Key agent socket ${path} ${problem}; refusing to use it.`);
  return path;
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

/**
 * Keys from a running agent for the archive `identity` (destIdentity), or null. An untrusted
 * directory or socket is an AgentError; an agent that does not answer is no agent.
 */
export async function keysFromAgent(identity: string): Promise<RootKeys | null> {
  const socketPath = trustedSocket(identity);
  const reply = socketPath ? await request(socketPath, 'get') : null;
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

/** Stops the agent for `identity`, if one runs. */
export async function stopAgent(identity: string): Promise<void> {
  const socketPath = trustedSocket(identity);
  if (socketPath) await request(socketPath, 'stop');
}

/** Starts an agent holding `keys` for `minutes` (capped at 60). */
export function startAgent(identity: string, keys: RootKeys, minutes: number): void {
  const socketPath = join(agentDirectory(true) as string, socketName(identity));
  const payload = Buffer.concat([
    Buffer.from([Math.min(MAX_AUTH_MINUTES, minutes)]),
    Buffer.from([keys.dataKey.length]),
    keys.dataKey,
    Buffer.from([keys.metadataKey.length]),
    keys.metadataKey,
  ]);
  spawnDetachedWithSecret([process.execPath, new URL('./key-agent.js', import.meta.url).pathname, socketPath], payload);
}
