// The ssh cipher on the send path (issue 17, item 5). Run by hand, as root (it starts sshd on
// 127.0.0.1, test/helpers/sshd.ts):
//
//   npm run build && node dist/bench/ssh-cipher.js [MiB, default 256] [runs, default 3]
//
// Chunks are already encrypted (and compressed), so ssh's own encryption is pure overhead; this
// times a full send of incompressible data over ssh:// with each cipher OpenSSH offers for it
// (`-c` through --opt-ssh), with the built-in options (no --opt-ssh: OpenSSH's default order,
// chacha20-poly1305 first), and a raw `ssh host cat` of the same bytes for each cipher.
// $SKIFF_BENCH_DIR (default /var/tmp/skiff-ssh-bench) holds the volume and the archives.

import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from '../test/helpers/paths.js';
import { startSshd } from '../test/helpers/sshd.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const MiB = 1024 * 1024;
const size = Number(process.argv[2] ?? 256);
const runs = Number(process.argv[3] ?? 3);
const work = process.env['SKIFF_BENCH_DIR'] ?? '/var/tmp/skiff-ssh-bench';
const CIPHERS = ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr'];

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function timed(command: string, args: string[], env: NodeJS.ProcessEnv, input?: Buffer): number {
  const start = performance.now();
  const r = spawnSync(command, args, { env, input, maxBuffer: 64 * MiB });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return (performance.now() - start) / 1000;
}

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const sshd = await startSshd();
try {
  const volume = join(work, 'v.img');
  const data = randomFillSync(Buffer.allocUnsafe(size * MiB));
  writeFileSync(volume, data);
  const env = { ...process.env, TZ: 'UTC', PATH: `${sshd.clientBin}:${process.env['PATH']}` };
  say(`${size} MiB, ${runs} runs each, median (load ${load()})`);
  const variants: [string, string[]][] = [
    ['built-in options (default cipher)', []],
    ...CIPHERS.map((c): [string, string[]] => [c, [...sshd.sshOptions, '-c', c].map((o) => `--opt-ssh=${o}`)]),
  ];
  let n = 0;
  for (const [name, opts] of variants) {
    const times: number[] = [];
    for (let run = 0; run < runs; run++) {
      const dir = join(work, `a${n++}`);
      const common = [`--dest=ssh://${sshd.authority}${dir}`, '--passcmd=echo bench-passphrase', `--meta-dir=${dir}-meta`, ...opts];
      timed(process.execPath, [CLI, 'arch-init', '--encrypt=xchacha20-dgr', ...common], env);
      times.push(timed(process.execPath, [CLI, 'send', `--import-other-from=v.img:|:${volume}`, ...common], env));
      rmSync(dir, { recursive: true, force: true });
      rmSync(`${dir}-meta`, { recursive: true, force: true });
    }
    const s = median(times);
    say(
      `send over ssh, ${name}: ${s.toFixed(2)} s (${((size * MiB) / s / 1e6).toFixed(0)} MB/s; ${times.map((t) => t.toFixed(2)).join(' ')}) (load ${load()})`,
    );
  }
  // The ssh client's own CPU seconds (user + system, from bash's `time`): what the cipher takes
  // from the send's workers on the same cores, less noisy than wall time on a loaded machine.
  const [host, port] = sshd.authority.split(':') as [string, string];
  const quoted = [...sshd.sshOptions, '-p', port].map((o) => `'${o}'`).join(' ');
  for (const cipher of CIPHERS) {
    const times: number[] = [];
    const cpu: number[] = [];
    for (let run = 0; run < runs; run++) {
      const start = performance.now();
      const r = spawnSync('bash', ['-c', `TIMEFORMAT='%U %S'; time ssh ${quoted} -c ${cipher} ${host} 'cat > /dev/null' < ${volume}`], {
        env,
        encoding: 'utf8',
      });
      times.push((performance.now() - start) / 1000);
      const [user, system] = r.stderr.trim().split('\n').at(-1)?.split(' ').map(Number) ?? [Number.NaN, Number.NaN];
      cpu.push((user ?? Number.NaN) + (system ?? Number.NaN));
    }
    const s = median(times);
    say(
      `raw ssh cat, ${cipher}: ${s.toFixed(2)} s (${((size * MiB) / s / 1e6).toFixed(0)} MB/s), client CPU ${median(cpu).toFixed(2)} s (load ${load()})`,
    );
  }
} finally {
  await sshd.stop();
  rmSync(work, { recursive: true, force: true });
}
