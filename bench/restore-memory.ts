// Restore benchmark: memory and time of `skiff receive` and `skiff verify` for volumes of
// different sizes, run as the real CLI. Run by hand:
//
//   npm run build && node dist/bench/restore-memory.js [sizes in MiB, default 1024 4096]
//
// Archives are synthesized once under $SKIFF_BENCH_DIR (default /var/tmp/skiff-bench) and reused.
// Memory is sampled from /proc/<pid>/status every 10 ms: the peak of the whole run (VmHWM,
// which includes key derivation: scrypt needs 512 MiB per key) and the peak resident size
// while chunks stream (after the "Receiving"/"Verifying" line), which is what must not grow
// with the volume.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from '../test/helpers/paths.js';
import { BENCH_PASSPHRASE, synthesizeArchive } from './synthesize-archive.js';

const root = process.env['SKIFF_BENCH_DIR'] ?? '/var/tmp/skiff-bench';
const sizesMiB = process.argv.slice(2).map(Number);
if (sizesMiB.length === 0) sizesMiB.push(1024, 4096);

interface Measured {
  seconds: number;
  streamingSeconds: number;
  peakMiB: number;
  streamingPeakMiB: number;
}

function statusKiB(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function measure(args: string[]): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = child.pid as number;
    let streamingSince = 0;
    let peak = 0;
    let streamingPeak = 0;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!streamingSince && /(Receiving|Verifying) volume/.test(stdout)) streamingSince = performance.now();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setInterval(() => {
      peak = Math.max(peak, statusKiB(pid, 'VmHWM'));
      if (streamingSince) streamingPeak = Math.max(streamingPeak, statusKiB(pid, 'VmRSS'));
    }, 10);
    child.on('close', (code) => {
      clearInterval(timer);
      const ended = performance.now();
      if (code !== 0) return reject(new Error(`skiff ${args.join(' ')} exited ${code}: ${stderr}`));
      resolve({
        seconds: (ended - started) / 1000,
        streamingSeconds: (ended - streamingSince) / 1000,
        peakMiB: peak / 1024,
        streamingPeakMiB: streamingPeak / 1024,
      });
    });
  });
}

const rows = ['  volume  command   total s  streaming s  MB/s streaming  peak RSS (incl. KDF)  RSS while streaming'];
for (const mib of sizesMiB) {
  const archive = join(root, `archive-${mib}M`);
  if (!existsSync(join(archive, 'archive.ini'))) {
    process.stderr.write(`synthesizing ${mib} MiB archive in ${archive} ...\n`);
    await synthesizeArchive(archive, mib * 1024 * 1024);
  }
  const target = join(root, `restored-${mib}M.img`);
  const common = [`--dest=file:${archive}`, `--passcmd=echo ${BENCH_PASSPHRASE}`];
  // Warm the page cache so that runs read the archive from memory, not from disk.
  execFileSync('sh', ['-c', `find ${archive} -type f -exec cat {} + > /dev/null`]);
  const receive = await measure([...common, 'receive', 'vol.img', `--save-to=${target}`]);
  if (statSync(target).size !== mib * 1024 * 1024) throw new Error('restored size is wrong');
  rmSync(target);
  const verify = await measure([...common, 'verify', 'vol.img']);
  for (const [name, r] of [
    ['receive', receive],
    ['verify', verify],
  ] as const) {
    const rate = (mib * 1.048576) / r.streamingSeconds;
    rows.push(
      `${String(mib).padStart(5)} MiB  ${name.padEnd(8)}  ${r.seconds.toFixed(1).padStart(7)}  ${r.streamingSeconds.toFixed(1).padStart(11)}  ${rate.toFixed(0).padStart(14)}  ${r.peakMiB.toFixed(0).padStart(16)} MiB  ${r.streamingPeakMiB.toFixed(0).padStart(15)} MiB`,
    );
  }
}
process.stdout.write(`${rows.join('\n')}\n`);
