// The main thread's busy share of the process's CPU in a full send and in a receive (issue 17,
// item 6): it bounds the speed-up from cores (a main thread busy M of T core-seconds caps it at
// T/M). Run by hand:
//
//   npm run build && node dist/bench/main-thread-share.js [MiB, default 1024]
//
// One mixed volume (half random, a quarter zeros, a quarter text, as core-scaling.sh makes it)
// on tmpfs, a fresh encrypted archive, `send --import-other-from` and `receive` with --cpu-prof
// (every thread writes a profile); busy = sampled time less (idle). The load is printed with it.
// Two caveats, hence a second measure beside it: the profiles cover the JavaScript threads only,
// not libuv's thread pool, where the file reads and writes of fs calls made from JavaScript run
// (the receive's, before its workers wrote the target themselves); and a profile's "busy" is
// wall time not idle, so on a loaded machine a thread waiting for a core counts as busy. The
// second measure is CPU time from the kernel: the main thread's (/proc/thread-self/stat) as a
// share of the whole process's (user + system, all threads), both taken as the process exits.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from '../test/helpers/paths.js';
import { writeMixedVolume } from './mixed-volume.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const MiB = 1024 * 1024;
const size = Number(process.argv[2] ?? 1024);
const work = process.env['SKIFF_BENCH_DIR'] ?? '/dev/shm/skiff-main-share';
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/**
 * Preloaded into the measured process: as it exits, the CPU time (µs, user + system) of the whole
 * process (process.cpuUsage(): all threads, libuv's pool too) and of its main thread alone
 * (/proc/thread-self/stat, in clock ticks of 10 ms), as JSON.
 */
const CPU_AT_EXIT =
  'data:text/javascript,import { readFileSync, writeFileSync } from "node:fs"; import { isMainThread } from "node:worker_threads"; ' +
  'if (isMainThread) process.on("exit", () => { const u = process.cpuUsage(); ' +
  'const f = readFileSync("/proc/thread-self/stat", "utf8").split(")").pop().trim().split(" "); ' +
  'writeFileSync(process.env.SKIFF_BENCH_CPU_FILE, JSON.stringify({ all: u.user + u.system, main: (Number(f[11]) + Number(f[12])) * 1e4 })); });';

interface Profile {
  nodes: { id: number; callFrame: { functionName: string } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Busy and sampled microseconds of one .cpuprofile. */
function busyOf(path: string): { busy: number; total: number } {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  let busy = 0;
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    if (!idle.has(id)) busy += dt;
  });
  return { busy, total };
}

function profiled(what: string, args: string[]): void {
  const dir = join(work, `prof-${what}`);
  mkdirSync(dir);
  const start = performance.now();
  const cpuFile = join(dir, 'process-cpu');
  const r = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--import=${CPU_AT_EXIT}`, CLI, ...args], {
    env: { ...process.env, TZ: 'UTC', SKIFF_BENCH_CPU_FILE: cpuFile },
    encoding: 'utf8',
    input: 'bench-passphrase\n',
  });
  const seconds = (performance.now() - start) / 1000;
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}: ${r.stderr}`);
  const cpu = JSON.parse(readFileSync(cpuFile, 'utf8')) as { all: number; main: number };
  // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread.
  let main = 0;
  let all = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const { busy } = busyOf(join(dir, file));
    all += busy;
    if (file.split('.')[4] === '0') main += busy;
  }
  say(
    `${what}: ${seconds.toFixed(2)} s, ${((size * MiB) / seconds / 1e6).toFixed(0)} MB/s; main thread busy ${(main / 1e6).toFixed(2)} s ` +
      `of ${(all / 1e6).toFixed(2)} s busy in all threads = ${((100 * main) / all).toFixed(0)}%; ` +
      `main thread CPU ${(cpu.main / 1e6).toFixed(2)} s of ${(cpu.all / 1e6).toFixed(2)} s process CPU = ${((100 * cpu.main) / cpu.all).toFixed(0)}% (load ${load()})`,
  );
}

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
try {
  const volume = join(work, 'vol.img');
  writeMixedVolume(volume, size);
  const common = [`--dest=file:${join(work, 'archive')}`, `--meta-dir=${join(work, 'meta')}`, '--passcmd=echo bench-passphrase'];
  const init = spawnSync(process.execPath, [CLI, 'arch-init', '--encrypt=xchacha20-dgr', ...common], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`arch-init: ${init.stderr}`);
  say(`${size} MiB on tmpfs (load ${load()})`);
  profiled('send', ['send', `--import-other-from=vol.img:|:${volume}`, ...common]);
  profiled('receive', ['receive', 'vol.img', `--save-to=${join(work, 'out.img')}`, ...common]);
} finally {
  rmSync(work, { recursive: true, force: true });
}
