// Incremental send cost against volume size (issue 17, item 4). Run by hand, as root:
//
//   npm run build && node dist/bench/incremental-scaling.js [sizes in MiB, default 1024 8192]
//
// For each size: a file volume on a Btrfs loop mount (--local is a subvolume), filled with
// incompressible data, sent once in full (not measured); then, three times, the SAME 40 MiB
// (40 scattered 1 MiB blocks in the first GiB) rewritten and an incremental send timed through
// the real CLI, with the bytes the process read (rchar of /proc/self/io at exit, all threads:
// the source, the archive's metadata, Node's own modules) and, for reference, an incremental
// with nothing changed (its rchar is the fixed part). The timed runs alternate between sizes. The incremental's cost should follow the
// change: the 8 GiB volume within 1.2× the time of the 1 GiB one, and its source reads (rchar
// less the no-change run's) ≤ 2× the 40 MiB changed.
//
// $SKIFF_BENCH_DIR (default /var/tmp/skiff-incr-bench) holds the loop image (sparse) and the
// archive; everything is unmounted and removed at the end.

import { execFileSync, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, PROJECT_ROOT } from '../test/helpers/paths.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const MiB = 1024 * 1024;
const CHANGED_BLOCKS = 40;
const sizes = process.argv.slice(2).map(Number);
if (sizes.length === 0) sizes.push(1024, 8192);
const work = process.env['SKIFF_BENCH_DIR'] ?? '/var/tmp/skiff-incr-bench';
const ioAtExit = join(PROJECT_ROOT, 'dist/bench/io-at-exit.js');

function load(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** Runs the CLI; returns seconds and rchar/read_bytes of the process. */
function skiff(args: string[], common: string[]): { seconds: number; rchar: number; readBytes: number } {
  const ioFile = join(work, 'io.txt');
  rmSync(ioFile, { force: true });
  const start = performance.now();
  const r = spawnSync(process.execPath, ['--import', ioAtExit, CLI, ...args, ...common], {
    env: { ...process.env, TZ: 'UTC', SKIFF_BENCH_IO_OUT: ioFile },
    encoding: 'utf8',
  });
  const seconds = (performance.now() - start) / 1000;
  if (r.status !== 0) throw new Error(`skiff ${args.join(' ')} exited ${r.status}: ${r.stdout}\n${r.stderr}`);
  const io = readFileSync(ioFile, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? Number.NaN);
  return { seconds, rchar: field('rchar'), readBytes: field('read_bytes') };
}

/** Writes `bytes` of incompressible data (a 64 MiB pattern, varied per MiB) to `path`. */
function fill(path: string, bytes: number): void {
  const pattern = randomFillSync(Buffer.allocUnsafe(64 * MiB));
  const fd = openSync(path, 'w');
  try {
    for (let at = 0; at < bytes; at += 64 * MiB) {
      pattern.writeUInt32LE(at / MiB, 0);
      writeSync(fd, pattern, 0, Math.min(64 * MiB, bytes - at), at);
    }
  } finally {
    closeSync(fd);
  }
}

/** Rewrites the same 40 blocks of 1 MiB (every 25th MiB of the first GiB) with new data. */
function change(path: string): void {
  const block = Buffer.allocUnsafe(MiB);
  const fd = openSync(path, 'r+');
  try {
    for (let i = 0; i < CHANGED_BLOCKS; i++) writeSync(fd, randomFillSync(block), 0, MiB, i * 25 * MiB);
  } finally {
    closeSync(fd);
  }
}

const mb = (n: number) => (n / MiB).toFixed(1);
mkdirSync(work, { recursive: true });
const image = join(work, 'btrfs.img');
const mount = join(work, 'mnt');
mkdirSync(mount, { recursive: true });
const total = sizes.reduce((a, b) => a + b, 0);
execFileSync('truncate', ['-s', `${Math.ceil(total * 1.3 + 1024)}M`, image]);
execFileSync('mkfs.btrfs', ['-q', '-f', image]);
execFileSync('mount', ['-o', 'loop', image, mount]);
try {
  const local = join(mount, 'pool');
  execFileSync('btrfs', ['-q', 'subvolume', 'create', local]);
  say(`incremental send after changing the same ${CHANGED_BLOCKS} MiB (load ${load()})`);
  // Every volume is set up first; the timed incrementals then alternate between the sizes, so
  // that the shared machine's load weighs on each size alike.
  const setups = sizes.map((size) => {
    const archive = join(work, `archive-${size}`);
    const volume = `v${size}.img`;
    const common = [`--dest=file:${archive}`, `--meta-dir=${join(work, `meta-${size}`)}`, '--passcmd=echo bench-passphrase'];
    const send = ['send', `--local=${local}`, volume];
    fill(join(local, volume), size * MiB);
    skiff(['arch-init', '--encrypt=xchacha20-dgr'], common);
    const full = skiff(send, common);
    say(`${size} MiB: full send ${full.seconds.toFixed(2)} s, rchar ${mb(full.rchar)} MiB (load ${load()})`);
    return { size, volume, common, send };
  });
  const fixed = new Map<number, number>();
  for (const { size, common, send } of setups) {
    const unchanged = skiff(send, common);
    fixed.set(size, unchanged.rchar);
    say(`${size} MiB: no change   ${unchanged.seconds.toFixed(2)} s, rchar ${mb(unchanged.rchar)} MiB (load ${load()})`);
  }
  for (let run = 1; run <= 3; run++) {
    for (const { size, volume, common, send } of setups) {
      change(join(local, volume));
      execFileSync('sync');
      const r = skiff(send, common);
      say(
        `${size} MiB: incremental #${run} ${r.seconds.toFixed(2)} s, rchar ${mb(r.rchar)} MiB ` +
          `(${mb(r.rchar - (fixed.get(size) ?? 0))} MiB over no-change; read_bytes ${mb(r.readBytes)} MiB) (load ${load()})`,
      );
    }
  }
} finally {
  execFileSync('umount', [mount]);
  rmSync(work, { recursive: true, force: true });
}
