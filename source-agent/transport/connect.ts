// Starting a destination helper and opening the protocol: spawn the carrier (ssh, qvm-run, or
// node for a local child), send the helper's code when it is uploaded, then hello. A helper
// that cannot start, or answers hello with an error, is reported here; qubes:// tries the
// installed qrexec service first and falls back to uploading the helper.

import { dirname } from 'node:path';
import { PROTOCOL_VERSION } from '../../protocol/messages.js';
import { ConnectionError, type HelperChannel, HelperConnection } from '../store/remote/helper-connection.js';
import { RemoteStore } from '../store/remote/remote-store.js';
import { singleReplyBudget } from '../store/remote/request-budget.js';
import { spawnPiped } from '../sys/exec.js';
import { onInterrupt } from '../sys/interrupt.js';
import { type CarrierOptions, qubesServiceArgv, qubesSshArgv, qubesUploadArgv, shellQuote, sshArgv } from './helper-command.js';
import { helperBundle, helperBundlePath, uploadCommand } from './helper-upload.js';
import { sshControlDir } from './ssh-control-dir.js';

/** How long a helper may stay silent while requests wait (SKIFF_DEST_TIMEOUT seconds overrides). */
export function destinationTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(env['SKIFF_DEST_TIMEOUT'] ?? '');
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 300_000;
}

export interface HelperStart {
  argv: readonly string[];
  /** The helper's code, written to stdin before the protocol (uploaded helpers). */
  upload: Buffer | null;
}

export interface ConnectOptions {
  url: string;
  /** The archive directory on the destination (relative: to the login directory). */
  root: string;
  /** Create the archive directory (write commands). */
  create: boolean;
  timeoutMs: number;
  writeWindowBytes?: number;
}

/** Starts one helper and says hello; throws the hello's error (a StoreError) or a ConnectionError. */
export async function connectHelper(start: HelperStart, options: ConnectOptions): Promise<RemoteStore> {
  const child = spawnPiped(start.argv);
  // An interrupted run that cannot unwind in time still stops its helper.
  void child.closed.then(onInterrupt(() => child.kill()));
  const channel: HelperChannel = {
    readable: child.stdout,
    writable: child.stdin,
    diagnostics: () => child.stderrTail().split('\n').filter(Boolean).slice(-3).join(' | '),
    exited: child.closed,
    close: async () => {
      child.stdin.end();
      const grace = new Promise<void>((resolve) => setTimeout(resolve, 5000).unref());
      await Promise.race([child.closed, grace]);
      child.kill();
      await child.closed;
    },
    kill: () => {
      child.kill();
      child.stdout.destroy();
    },
  };
  child.stdin.on('error', () => {}); // reported through the connection
  if (start.upload) child.stdin.write(start.upload);
  const connection = new HelperConnection(channel, {
    timeoutMs: options.timeoutMs,
    ...(options.writeWindowBytes ? { writeWindowBytes: options.writeWindowBytes } : {}),
  });
  try {
    const hello = await connection.request(
      'hello',
      { version: PROTOCOL_VERSION, root: options.root, create: options.create },
      // The helper's code goes ahead of the hello: its deadline allows for the upload.
      { path: options.root, budget: singleReplyBudget(start.upload?.length ?? 0) },
    );
    if (hello['version'] !== PROTOCOL_VERSION)
      throw connection.fatal(`the destination helper speaks protocol version ${hello['version']}, not ${PROTOCOL_VERSION}`);
  } catch (error) {
    await connection.close().catch(() => {});
    throw error;
  }
  return new RemoteStore(options.url, connection);
}

/** A helper run by this machine's node as a child process (tests; `upload` goes through the loader). */
export function localHelper(options: { upload?: boolean } = {}): HelperStart {
  if (options.upload) {
    const code = helperBundle();
    return { argv: ['sh', '-c', `cd / && ${uploadShell(code.length)}`], upload: code };
  }
  return { argv: [process.execPath, helperBundlePath()], upload: null };
}

function uploadShell(bytes: number): string {
  // The same loader ssh and qvm-run run, with this machine's node first on PATH.
  return `PATH=${shellQuote(dirname(process.execPath))}:"$PATH" ${uploadCommand(bytes)}`;
}

export function sshStart(authority: string, carrier: CarrierOptions): HelperStart {
  const code = helperBundle();
  const controlDir = carrier.sshOptions.length === 0 ? { sshControlDir: sshControlDir() } : {};
  return { argv: sshArgv(authority, code.length, { ...carrier, ...controlDir }), upload: code };
}

export function qubesSshStart(authority: string, carrier: CarrierOptions): HelperStart {
  const code = helperBundle();
  return { argv: qubesSshArgv(authority, code.length, carrier), upload: code };
}

/**
 * qubes://vm: the installed service when the qube has it, else the uploaded helper. A service
 * that is missing or refused by policy ends before hello; any other failure is reported as is.
 */
export async function connectQubes(vm: string, carrier: CarrierOptions, options: ConnectOptions): Promise<RemoteStore> {
  try {
    return await connectHelper({ argv: qubesServiceArgv(vm, carrier), upload: null }, options);
  } catch (error) {
    // A helper that answered hello with an error (say, the archive path is missing) is final;
    // a service that could not be started at all is not.
    if (!(error instanceof ConnectionError)) throw error;
  }
  const code = helperBundle();
  return connectHelper({ argv: qubesUploadArgv(vm, code.length, carrier), upload: code }, options);
}
