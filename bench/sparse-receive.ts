// Sparse receive benchmark: `skiff receive` of a 1 GiB volume (the synthesized archive of
// restore-memory.ts: encrypted, zstd:3, 256 KiB chunks, a quarter of the chunks zeros) into a
// target that differs from the session in 1% of its chunks — a full receive against
// `--sparse-write` and `--sparse`. Run by hand, as root or not:
//
//   npm run build && node dist/bench/sparse-receive.js [size in MiB, default 1024]
//
// Each run is measured by bench/receive-measure.ts (time, write_bytes, Diff bytes). Its sibling
// bench/snapshot-receive.ts measures --use-snapshot-diff on a loop Btrfs.

import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { measure, TABLE_HEAD, tableRow } from './receive-measure.js';
import { BENCH_PASSPHRASE, synthesizeArchive } from './synthesize-archive.js';

const root = process.env['SKIFF_BENCH_DIR'] ?? '/var/tmp/skiff-bench';
const mib = Number(process.argv[2] ?? 1024);
const CHUNK = 262144;

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
const rows = [TABLE_HEAD];
const row = tableRow;

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
