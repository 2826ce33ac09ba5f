// The send's main-thread CPU time, read from /proc while it runs (issue 17): the load-independent
// companion of main-thread-share.ts. A profile's "busy" is sampled wall time, which grows with
// the time a thread waits for a core, so on a shared machine its share moves by several points
// from run to run; the CPU time the kernel counts for the main thread does not. Run by hand:
//
//   npm run build && node dist/bench/send-main-thread-cpu.js [MiB, default 1024] [runs, default 3]
//
// Full sends (`--import-other-from`) of one mixed volume (half random, a quarter zeros, a quarter
// text, as main-thread-share.ts) on tmpfs into fresh encrypted archives, at 16 MiB (the fixed
// cost: start-up, key derivation, commit) and at the size given; prints per run the main
// thread's CPU seconds (utime + stime of the thread whose id is the process id), the process's,
// the wall time and the peak resident size (VmHWM, which the key derivation's 512 MiB sets), then
// the main thread's CPU per GiB beyond the fixed cost: what limits the speed-up from cores.

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from '../test/helpers/paths.js';
import { writeMixedVolume } from './mixed-volume.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const size = Number(process.argv[2] ?? 1024);
const runs = Number(process.argv[3] ?? 3);
const work = process.env['SKIFF_BENCH_DIR'] ?? '/dev/shm/skiff-main-cpu';
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** utime + stime in seconds from a /proc …/stat line (fields 14 and 15, in clock ticks of 1/100 s). */
function cpuSeconds(statPath: string): number {
  const text = readFileSync(statPath, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Run {
  main: number;
  all: number;
  wall: number;
  hwmMiB: number;
}

async function sendOnce(volume: string, n: number): Promise<Run> {
  const common = [`--dest=file:${join(work, `archive${n}`)}`, `--meta-dir=${join(work, `meta${n}`)}`, '--passcmd=echo bench-passphrase'];
  const init = spawnSync(process.execPath, [CLI, 'arch-init', '--encrypt=xchacha20-dgr', ...common], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`arch-init: ${init.stderr}`);
  const start = performance.now();
  const child = spawn(process.execPath, [CLI, 'send', `--import-other-from=vol.img:|:${volume}`, ...common], {
    env: { ...process.env, TZ: 'UTC' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (data: Buffer) => {
    stderr += data.toString();
  });
  const last: Run = { main: 0, all: 0, wall: 0, hwmMiB: 0 };
  // The last reading before the process ends (every 5 ms: at most that much is missed).
  const poll = setInterval(() => {
    try {
      last.main = cpuSeconds(`/proc/${child.pid}/task/${child.pid}/stat`);
      last.all = cpuSeconds(`/proc/${child.pid}/stat`);
      // A process that has ended (a zombie) has no memory lines left: keep the last value.
      const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
      if (hwm) last.hwmMiB = Number(hwm) / 1024;
    } catch {
      // the process has just ended
    }
  }, 5);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearInterval(poll);
  last.wall = (performance.now() - start) / 1000;
  if (code !== 0) throw new Error(`send exited ${code}: ${stderr}`);
  rmSync(join(work, `archive${n}`), { recursive: true, force: true });
  rmSync(join(work, `meta${n}`), { recursive: true, force: true });
  return last;
}

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
try {
  const small = join(work, 'small.img');
  const large = join(work, 'large.img');
  writeMixedVolume(small, 16);
  writeMixedVolume(large, size);
  let n = 0;
  const fixed: number[] = [];
  const perGiB: number[] = [];
  for (let r = 0; r < runs; r++) {
    for (const [mib, path] of [
      [16, small],
      [size, large],
    ] as const) {
      const run = await sendOnce(path, n++);
      say(
        `${String(mib).padStart(5)} MiB: ${run.wall.toFixed(2)} s, main thread CPU ${run.main.toFixed(2)} s, process CPU ${run.all.toFixed(2)} s, ` +
          `VmHWM ${run.hwmMiB.toFixed(0)} MiB (load ${load()})`,
      );
      if (mib === 16) fixed.push(run.main);
      else perGiB.push(((run.main - (fixed.at(-1) ?? 0)) * 1024) / (size - 16));
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  say(`main thread CPU: fixed ${median(fixed).toFixed(2)} s, then ${median(perGiB).toFixed(3)} s per GiB (medians of ${runs})`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
