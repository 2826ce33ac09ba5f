// Runs one `skiff` command for a receive benchmark and measures it: wall time, time from its
// "Receiving volume" line on (without start-up and key derivation, which cost seconds), the bytes
// it wrote to storage (write_bytes from /proc, read by a shell that waited for it, so the reaped
// child's counters are in; the fallocate and reflink calls do not write) and its "Diff bytes".
// Shared by bench/sparse-receive.ts and bench/snapshot-receive.ts.

import { spawn } from 'node:child_process';
import { CLI } from '../test/helpers/paths.js';

export interface Measured {
  seconds: number;
  /** From the "Receiving volume" line to the end: the receive itself, without start-up and key derivation. */
  receiveSeconds: number;
  writtenBytes: number;
  diffBytes: string;
}

export function measure(args: string[]): Promise<Measured> {
  // The shell runs skiff, then prints its own io counters, which now include the reaped child's.
  const script = '"$0" "$@"; rc=$?; grep write_bytes /proc/$$/io >&2; exit $rc';
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('sh', ['-c', script, process.execPath, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let receiving = 0;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!receiving && /Receiving volume/.test(stdout)) receiving = performance.now();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('close', (code) => {
      const ended = performance.now();
      if (code !== 0) return reject(new Error(`skiff ${args.join(' ')} exited ${code}: ${stdout}${stderr}`));
      resolve({
        seconds: (ended - started) / 1000,
        receiveSeconds: (ended - (receiving || started)) / 1000,
        writtenBytes: Number(/write_bytes:\s+(\d+)/.exec(stderr)?.[1] ?? Number.NaN),
        diffBytes: /Diff bytes: (\d+)/.exec(stdout)?.[1] ?? '',
      });
    });
  });
}

/** One line of a result table: mode, total s, receive s, written MiB, Diff bytes. */
export const TABLE_HEAD = 'mode                          total s  receive s  written MiB  Diff bytes';
export function tableRow(name: string, m: Measured): string {
  return `${name.padEnd(28)}  ${m.seconds.toFixed(1).padStart(7)}  ${m.receiveSeconds.toFixed(1).padStart(9)}  ${(m.writtenBytes / 1048576).toFixed(1).padStart(11)}  ${m.diffBytes}`;
}
