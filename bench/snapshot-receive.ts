// Snapshot receive benchmark, the sibling of sparse-receive.ts: on a loop Btrfs (root needed),
// Skiff sends a 1 GiB volume (a quarter of its 256 KiB chunks zeros, the rest random), changes 1%
// of its chunks and sends again, then receives the OLDER session back into `--local` three ways —
// a full receive, `--sparse-write` over the newer file, `--use-snapshot-diff` (a reflink copy of
// the paired snapshot plus the chunks the newer session changed) — and lastly the newest session
// with `--use-snapshot` (no chunk transferred). Each result is compared with the volume as sent.
//
//   npm run build && node dist/bench/snapshot-receive.js [size in MiB, default 1024]
//
// Measured by bench/receive-measure.ts: time, write_bytes from /proc, "Diff bytes".
// (For the two sends the "receive s" column is their whole time.) 5 Dec 2026, 2 shared cores,
// load 2.5-4: full receive 7.2 s / 771 MiB written; --sparse-write 5.5 s / 10.4 MiB;
// --use-snapshot-diff 4.9 s (0.2 s after start-up and key derivation) / 10.8 MiB;
// --use-snapshot of the newest 3.6 s / 0.6 MiB.

import { execFileSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { measure, TABLE_HEAD, tableRow } from './receive-measure.js';

const mib = Number(process.argv[2] ?? 1024);
const CHUNK = 262144;
const chunks = (mib * 1048576) / CHUNK;
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });

/** Writes the volume: chunk i is zeros (a hole) when i % 4 === 0, else bytes of a chacha20 stream. */
function writeVolume(path: string): void {
  const stream = createCipheriv('chacha20', Buffer.alloc(32, 7), Buffer.alloc(16));
  const fd = openSync(path, 'w');
  try {
    for (let i = 0; i < chunks; i++) {
      const bytes = stream.update(Buffer.alloc(CHUNK));
      if (i % 4 !== 0) writeSync(fd, bytes, 0, CHUNK, i * CHUNK);
    }
    ftruncateSync(fd, chunks * CHUNK);
  } finally {
    closeSync(fd);
  }
}

/** Overwrites 1% of the chunks (every 100th, from chunk 7) with new bytes, in place. */
function changeOnePercent(path: string): number {
  const fd = openSync(path, 'r+');
  let changed = 0;
  try {
    for (let i = 7; i < chunks; i += 100) {
      writeSync(fd, Buffer.alloc(CHUNK, (i % 250) + 1), 0, CHUNK, i * CHUNK);
      changed++;
    }
  } finally {
    closeSync(fd);
  }
  return changed;
}

const work = mkdtempSync(join(process.env['SKIFF_BENCH_DIR'] ?? '/var/tmp', 'skiff-snapbench-'));
const mnt = join(work, 'mnt');
const pool = join(mnt, 'pool');
const vol = join(pool, 'vol.img');
mkdirSync(mnt);
sh('truncate', ['-s', `${Math.max(2, Math.ceil((mib * 4) / 1024))}G`, join(work, 'btrfs.img')]);
sh('mkfs.btrfs', ['-q', '-f', join(work, 'btrfs.img')]);
sh('mount', ['-o', 'loop', join(work, 'btrfs.img'), mnt]);
try {
  sh('btrfs', ['subvolume', 'create', pool]);
  const archive = join(work, 'archive');
  const common = [`--dest=file:${archive}`, '--passcmd=echo snapshot-bench', '--authmin=0', `--meta-dir=${join(work, 'meta')}`];
  await measure(['arch-init', ...common]);
  writeVolume(vol);
  const sent = [tableRow('full send', await measure(['send', 'vol.img', `--local=${pool}`, ...common]))];
  sh('cp', ['--reflink=always', vol, join(work, 'mnt', 's1.img')]);
  const changed = changeOnePercent(vol);
  sent.push(tableRow(`incremental send (${changed} ch)`, await measure(['send', 'vol.img', `--local=${pool}`, ...common])));
  sh('cp', ['--reflink=always', vol, join(mnt, 's2.img')]);
  const volDir = readdirSync(archive).find((n) => n.startsWith('Vol_')) ?? '';
  const [s1, s2] = readdirSync(join(archive, volDir))
    .filter((n) => n.startsWith('S_'))
    .sort()
    .map((n) => n.slice(2));
  if (!s1 || !s2) throw new Error('expected two sessions');

  const rows = [TABLE_HEAD];
  const receive = async (name: string, session: string, expect: string, extra: string[], from?: string) => {
    if (from) sh('cp', ['--reflink=always', from, vol]);
    sh('sync', []);
    const m = await measure(['receive', 'vol.img', `--local=${pool}`, `--session=${session}`, '--force', ...extra, ...common]);
    sh('cmp', [vol, expect]);
    rows.push(tableRow(name, m));
  };
  const older = join(mnt, 's1.img');
  const newer = join(mnt, 's2.img');
  await receive('full receive (older)', s1, older, [], newer);
  await receive('--sparse-write (older)', s1, older, ['--sparse-write'], newer);
  await receive('--use-snapshot-diff (older)', s1, older, ['--use-snapshot-diff'], newer);
  await receive('--use-snapshot (newest)', s2, newer, ['--use-snapshot'], older);
  process.stdout.write(`${mib} MiB volume, 256 KiB chunks, ${changed} chunks (1%) differ between the sessions\n`);
  process.stdout.write(`${TABLE_HEAD}\n${sent.join('\n')}\n${rows.slice(1).join('\n')}\n`);
} finally {
  execFileSync('umount', [mnt]);
  rmSync(work, { recursive: true, force: true });
}
