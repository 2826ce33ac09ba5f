// Sparse receive benchmark: `skiff receive` of a 1 GiB volume (the synthesized archive of
// restore-memory.ts: encrypted, zstd:3, 256 KiB chunks, a quarter of the chunks zeros) into a
// target that differs from the session in 1% of its chunks — a full receive against
// `--sparse-write` and `--sparse`. Run by hand, as root or not:
//
//   npm run build && node dist/bench/sparse-receive.js [size in MiB, default 1024]
//
// Each run is timed whole and from its "Receiving volume" line on (without start-up and key
// derivation, which cost seconds); "written" is the run's write_bytes from /proc (bytes it sent to storage, counted when
// it dirtied them; the fallocate calls do not write), read by a shell that waited for it.

import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from '../test/helpers/paths.js';
import { BENCH_PASSPHRASE, synthesizeArchive } from './synthesize-archive.js';

const root = process.env['SKIFF_BENCH_DIR'] ?? '/var/tmp/skiff-bench';
const mib = Number(process.argv[2] ?? 1024);
const CHUNK = 262144;

interface Measured {
  seconds: number;
  /** From the "Receiving volume" line to the end: the receive itself, without start-up and key derivation. */
  receiveSeconds: number;
  writtenBytes: number;
  diffBytes: string;
}

function measure(args: string[]): Promise<Measured> {
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
        receiveSeconds: (ended - receiving) / 1000,
        writtenBytes: Number(/write_bytes:\s+(\d+)/.exec(stderr)?.[1] ?? Number.NaN),
        diffBytes: /Diff bytes: (\d+)/.exec(stdout)?.[1] ?? '',
      });
    });
  });
}

/** Overwrites 1% of the chunks (every 100th, from chunk 7) with new bytes, in place. */
function changeOnePercent(path: string): number {
  const chunks = (mib * 1024 * 1024) / CHUNK;
  const fd = openSync(path, 'r+');
  let changed = 0;
  try {
    for (let i = 7; i < chunks; i += 100) {
      const bytes = Buffer.alloc(CHUNK, (i % 250) + 1);
      writeSync(fd, bytes, 0, CHUNK, i * CHUNK);
      changed++;
    }
  } finally {
    closeSync(fd);
  }
  return changed;
}

const archive = join(root, `archive-${mib}M`);
if (!existsSync(join(archive, 'archive.ini'))) {
  process.stderr.write(`synthesizing ${mib} MiB archive in ${archive} ...\n`);
  await synthesizeArchive(archive, mib * 1024 * 1024);
}
execFileSync('sh', ['-c', `find ${archive} -type f -exec cat {} + > /dev/null`]);
const common = [`--dest=file:${archive}`, `--passcmd=echo ${BENCH_PASSPHRASE}`, '--authmin=0', `--meta-dir=${join(root, 'meta')}`];
const full = join(root, `full-${mib}M.img`);
const target = join(root, `sparse-${mib}M.img`);
rmSync(full, { force: true });
const rows = ['mode                    total s  receive s  written MiB  Diff bytes'];
const row = (name: string, m: Measured) =>
  `${name.padEnd(22)}  ${m.seconds.toFixed(1).padStart(7)}  ${m.receiveSeconds.toFixed(1).padStart(9)}  ${(m.writtenBytes / 1048576).toFixed(1).padStart(11)}  ${m.diffBytes}`;

rows.push(row('full receive', await measure([...common, 'receive', 'vol.img', `--save-to=${full}`])));
for (const mode of ['--sparse-write', '--sparse']) {
  execFileSync('cp', ['--sparse=always', full, target]);
  const changed = changeOnePercent(target);
  execFileSync('sync');
  const m = await measure([...common, 'receive', 'vol.img', `--save-to=${target}`, mode]);
  execFileSync('cmp', [full, target]);
  rows.push(row(`${mode} (${changed} ch)`, m));
}
rmSync(target, { force: true });
rmSync(full, { force: true });
process.stdout.write(`${mib} MiB volume, 256 KiB chunks\n${rows.join('\n')}\n`);
