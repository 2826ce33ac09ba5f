// Send benchmark on a real Btrfs (loop device), run by hand as root:
//
//   npm run build && node dist/bench/send-bench.js [volume MiB, default 1024]
//   WYNG=/path/to/wyng node dist/bench/send-bench.js 1024      # also time real Wyng, same data
//   SKIFF_BENCH_WARM=1 …                                        # keep page caches (compute-bound)
//   SKIFF_BENCH_SSH=1 …                                         # also Skiff over ssh:// to a local sshd,
//                                                                 # and ssh alone carrying the same bytes
//
// Writes a deterministic volume (cycling incompressible, zero, text-like and half-zero chunks),
// then times: full send, an in-place rewrite of 1% of the chunks, incremental send, receive.
// Default archive settings (xchacha20-dgr, zstd:3, 256 KiB). Key derivation is kept out of the
// timings: each tool unlocks once first and keeps its keys in its agent. Page caches are dropped
// before every timed step, and every step ends with `sync`, so both tools are timed until their
// data is on disk (Skiff flushes before it commits; Wyng leaves its writes to the page cache).
// Memory is the peak resident size of the tool's process.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../test/helpers/paths.js';
import { type Sshd, startSshd } from '../test/helpers/sshd.js';

const MiB = 1024 * 1024;
const CHUNK = 256 * 1024;
const sizeMiB = Number(process.argv[2] ?? 1024);
const wyng = process.env['WYNG'];
const work = process.env['SKIFF_BENCH_DIR'] ?? '/var/tmp/skiff-send-bench';
const PASS = 'bench-passphrase-123';
let sshd: Sshd | null = null;

function chunkAt(index: number, salt: string): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeUInt32LE(index, 4);
  iv.write(salt.slice(0, 8), 8);
  const random = createCipheriv('chacha20', Buffer.alloc(32, 3), iv).update(Buffer.alloc(CHUNK));
  switch (index % 4) {
    case 0:
      return random;
    case 1:
      return Buffer.alloc(CHUNK);
    case 2: {
      let text = '';
      for (let line = 0; text.length < CHUNK; line++) {
        text += `2026-11-28T15:${String(line % 60).padStart(2, '0')}:00 host${random[line % CHUNK]} app[${index}]: request ${line} took ${random[(line * 7) % CHUNK]} ms\n`;
      }
      return Buffer.from(text.slice(0, CHUNK));
    }
    default:
      return Buffer.concat([random.subarray(0, CHUNK / 2), Buffer.alloc(CHUNK / 2)]);
  }
}

function writeVolume(path: string): void {
  const fd = openSync(path, 'w');
  for (let i = 0; i < (sizeMiB * MiB) / CHUNK; i++) writeSync(fd, chunkAt(i, 'base'));
  closeSync(fd);
}

/** Rewrites 1% of the chunks in place, spread over the volume. */
function changeOnePercent(path: string): number {
  const fd = openSync(path, 'r+');
  let changed = 0;
  for (let i = 0; i < (sizeMiB * MiB) / CHUNK; i += 100) {
    writeSync(fd, chunkAt(i + 4 * 1000003, 'change'), 0, CHUNK, i * CHUNK);
    changed++;
  }
  closeSync(fd);
  return changed;
}

const warm = process.env['SKIFF_BENCH_WARM'] === '1';

function dropCaches(): void {
  if (warm) return;
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
  } catch {
    // not permitted here: timings then include warm caches for both tools alike
  }
}

/** Median time of `ssh host true`: the handshake and the remote login shell, paid once per run. */
function sshSetupSeconds(server: Sshd): number {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    execFileSync('ssh', [...server.sshOptions, '-p', String(server.port), server.authority.replace(/:\d+$/, ''), 'true']);
    times.push((performance.now() - started) / 1000);
  }
  return times.sort((a, b) => a - b)[2] as number;
}

interface Timed {
  seconds: number;
  peakMiB: number;
  /** CPU time the whole machine spent busy meanwhile (every process and kernel thread). */
  coreSeconds: number;
}

/** Busy CPU time of the machine so far, in seconds (/proc/stat counts in USER_HZ = 1/100 s). */
function busySeconds(): number {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] as string).trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields as number[];
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / 100;
}

/** Carries `bytes` through ssh to `cat > /dev/null` on the server: the transport's own cost. */
function sshCarry(server: Sshd, bytes: number): Promise<{ seconds: number; coreSeconds: number }> {
  dropCaches();
  return new Promise((resolve, reject) => {
    const busy = busySeconds();
    const started = performance.now();
    const host = server.authority.replace(/:\d+$/, '');
    const child = spawn('ssh', [...server.sshOptions, '-p', String(server.port), host, 'cat > /dev/null'], {
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    const piece = Buffer.alloc(CHUNK, 0x5a);
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        const n = Math.min(piece.length, bytes - sent);
        sent += n;
        if (!child.stdin.write(piece.subarray(0, n))) return void child.stdin.once('drain', pump);
      }
      child.stdin.end();
    };
    pump();
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`ssh carrying ${bytes} bytes exited ${code}`));
      resolve({ seconds: (performance.now() - started) / 1000, coreSeconds: busySeconds() - busy });
    });
  });
}

function timed(argv: string[], cwd = work): Promise<Timed> {
  dropCaches();
  return new Promise((resolve, reject) => {
    const busy = busySeconds();
    const started = performance.now();
    const child = spawn(argv[0] as string, argv.slice(1), { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let peak = 0;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setInterval(() => {
      try {
        const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
      } catch {
        // exited
      }
    }, 20);
    child.on('close', (code) => {
      clearInterval(timer);
      if (code !== 0) return reject(new Error(`${argv.join(' ')} exited ${code}: ${stderr}`));
      execFileSync('sync');
      resolve({ seconds: (performance.now() - started) / 1000, peakMiB: peak, coreSeconds: busySeconds() - busy });
    });
  });
}

function run(argv: string[]): void {
  const r = spawnSync(argv[0] as string, argv.slice(1), { cwd: work, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
}

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const image = join(work, 'btrfs.img');
const mount = join(work, 'mnt');
mkdirSync(mount);
execFileSync('truncate', ['-s', `${sizeMiB * 3 + 1024}M`, image]);
execFileSync('mkfs.btrfs', ['-q', '-f', image]);
execFileSync('mount', ['-o', 'loop', image, mount]);
const local = join(mount, 'pool');
execFileSync('btrfs', ['subvolume', 'create', local], { stdio: 'ignore' });

try {
  process.stderr.write(`writing a ${sizeMiB} MiB volume...\n`);
  writeVolume(join(local, 'vol.img'));
  const tools: { name: string; argv: (args: string[]) => string[]; dest: string }[] = [
    {
      name: 'skiff',
      dest: `file:${join(work, 'skiff-archive')}`,
      argv: (args) => [process.execPath, CLI, ...args, `--meta-dir=${join(work, 'skiff-meta')}`, '--authmin=60'],
    },
  ];
  if (wyng) {
    mkdirSync(join(work, 'wyng-meta'));
    tools.push({
      name: 'wyng',
      dest: `file:${join(work, 'wyng-archive')}`,
      argv: (args) => ['/usr/bin/python3', wyng, ...args, `--meta-dir=${join(work, 'wyng-meta')}`, '--authmin=60'],
    });
  }
  let sshSetup = 0;
  if (process.env['SKIFF_BENCH_SSH'] === '1') {
    // The same archive settings over ssh to 127.0.0.1: ssh's cipher, the helper's writes and syncs.
    sshd = await startSshd();
    sshSetup = sshSetupSeconds(sshd);
    const opts = sshd.sshOptions.map((o) => `--opt-ssh=${o}`);
    tools.splice(1, 0, {
      name: 'skiff-ssh',
      dest: `ssh://${sshd.authority}${join(work, 'skiff-ssh-archive')}`,
      argv: (args) => [process.execPath, CLI, ...args, `--meta-dir=${join(work, 'skiff-ssh-meta')}`, '--authmin=60', ...opts],
    });
  }
  const results = new Map<string, Map<string, Timed>>();
  for (const tool of tools) {
    // The passphrase only here: unlock once, the agent keeps the keys (Skiff checks a passphrase
    // given while its agent holds the keys, a key derivation per command that Wyng never pays).
    run(tool.argv(['arch-init', `--dest=${tool.dest}`, `--passcmd=echo ${PASS}`]));
    run(tool.argv(['list', `--dest=${tool.dest}`, `--passcmd=echo ${PASS}`]));
    results.set(tool.name, new Map());
  }
  const step = async (label: string, args: (tool: (typeof tools)[number]) => string[]) => {
    for (const tool of tools) (results.get(tool.name) as Map<string, Timed>).set(label, await timed(tool.argv(args(tool))));
  };
  await step('full send', (t) => ['send', 'vol.img', `--dest=${t.dest}`, `--local=${local}`]);
  const changed = changeOnePercent(join(local, 'vol.img'));
  await step(`incremental send (${changed} chunks changed)`, (t) => ['send', 'vol.img', `--dest=${t.dest}`, `--local=${local}`]);
  await step('receive', (t) => ['receive', 'vol.img', `--dest=${t.dest}`, `--save-to=${join(work, `${t.name}-restored.img`)}`, '-u']);
  for (const tool of tools) rmSync(join(work, `${tool.name}-restored.img`), { force: true });

  const skiff = results.get('skiff') as Map<string, Timed>;
  const wyngResults = results.get('wyng');
  const lines = [
    `volume ${sizeMiB} MiB, xchacha20-dgr, zstd:3, 256 KiB chunks, ${warm ? 'warm page cache' : 'caches dropped before each step'}`,
  ];
  for (const [label, r] of skiff) {
    const mbps = label.startsWith('incremental') ? '' : `  ${((sizeMiB * MiB) / 1e6 / r.seconds).toFixed(0).padStart(5)} MB/s`;
    let line = `${label.padEnd(40)} skiff ${r.seconds.toFixed(2).padStart(7)} s${mbps}  peak RSS ${r.peakMiB.toFixed(0)} MiB  CPU ${r.coreSeconds.toFixed(2)} core-s`;
    const w = wyngResults?.get(label);
    if (w)
      line += `  | wyng ${w.seconds.toFixed(2).padStart(7)} s  CPU ${w.coreSeconds.toFixed(2)} core-s  → skiff is ${(w.seconds / r.seconds).toFixed(2)}× faster`;
    const overSsh = results.get('skiff-ssh')?.get(label);
    if (overSsh) {
      const net = overSsh.seconds - sshSetup;
      line += `  | over ssh ${overSsh.seconds.toFixed(2)} s = ${((100 * r.seconds) / overSsh.seconds).toFixed(0)}% of file: throughput`;
      line += ` (${((100 * r.seconds) / net).toFixed(0)}% without the connection set-up)`;
    }
    lines.push(line);
  }
  if (sshd) {
    // The floor for the ssh send on this machine: the file: send's CPU plus what ssh alone
    // spends carrying the same bytes, spread over every core with nothing idle.
    const bytes = Number(execFileSync('du', ['-sb', join(work, 'skiff-archive')], { encoding: 'utf8' }).split('\t')[0]);
    const carry = await sshCarry(sshd, bytes);
    lines.push(
      `ssh alone carrying the archive's ${(bytes / 1e6).toFixed(0)} MB to cat: ${carry.seconds.toFixed(2)} s, CPU ${carry.coreSeconds.toFixed(2)} core-s`,
    );
    for (const label of ['full send', 'receive']) {
      const local = skiff.get(label) as Timed;
      const floor = Math.max(carry.seconds, (local.coreSeconds + carry.coreSeconds) / availableParallelism());
      lines.push(
        `  → ${label} over ssh cannot take less than ${floor.toFixed(2)} s on ${availableParallelism()} cores (${((100 * local.seconds) / floor).toFixed(0)}% of file: throughput at best)`,
      );
    }
  }
  if (sshd)
    lines.push(
      `ssh connection set-up (ssh … true, median of 5): ${sshSetup.toFixed(2)} s; every run over ssh includes it once (login shell start-up included)`,
    );
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  // Stop the key agents; these runs keep their local state inside the work directory too.
  const stopMeta = `--meta-dir=${join(work, 'stop-meta')}`;
  for (const name of ['skiff', 'wyng'])
    spawnSync(process.execPath, [CLI, 'list', `--dest=file:${join(work, `${name}-archive`)}`, '--authmin=-1', '-u', stopMeta]);
  if (sshd) {
    const opts = sshd.sshOptions.map((o) => `--opt-ssh=${o}`);
    spawnSync(process.execPath, [
      CLI,
      'list',
      `--dest=ssh://${sshd.authority}${join(work, 'skiff-ssh-archive')}`,
      '--authmin=-1',
      '-u',
      stopMeta,
      ...opts,
    ]);
    await sshd.stop();
  }
  execFileSync('umount', [mount]);
  rmSync(work, { recursive: true, force: true });
}
