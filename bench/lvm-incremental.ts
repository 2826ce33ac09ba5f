// LVM incremental-send benchmark on the thin-pool model (the kernel side is modelled; thin_delta
// and thin_restore are real). Run by hand, as root:
//
//   npm run build && node dist/bench/lvm-incremental.js [sizes in MiB, default 1024 4096]
//
// For each size: a thin LV filled through the model (every pool block mapped, compressible data),
// a full send (not measured), then the same number of changed bytes (10 MiB = 1% of 1 GiB, in
// scattered 64 KiB blocks) and a timed incremental send through the real CLI: its time should
// follow the changed data, not the volume's size. Then, for the largest size, 1% of the LV changed
// and the delta step alone: the model's own part (reserve_metadata_snap = thin_restore of the
// whole mapping, and the real thin_delta) timed apart from Skiff's (streaming parse + mapping to
// chunks of the captured XML; target < 0.5 s).
//
// The model works under a Btrfs loop mount so its snapshot copies (cp --reflink=auto) are
// instant; $SKIFF_BENCH_DIR (default /var/tmp/skiff-bench) holds the image.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeltaChunkMapper } from '../source-agent/source/lvm/delta-chunks.js';
import { findLvmTools, Lvm } from '../source-agent/source/lvm/lvm-commands.js';
import { lvmDelta } from '../source-agent/source/lvm/lvm-delta.js';
import { openLvmPool } from '../source-agent/source/lvm/lvm-pool.js';
import { ThinDeltaParser } from '../source-agent/source/lvm/thin-delta-xml.js';
import { CLI } from '../test/helpers/paths.js';
import { startLvmModel, uniqueVgName } from '../test/lvm-model/harness.js';

const MiB = 1024 * 1024;
const BLOCK = 64 * 1024;
const CHUNK = 256 * 1024;
const root = process.env['SKIFF_BENCH_DIR'] ?? '/var/tmp/skiff-bench';
const sizesMiB = process.argv.slice(2).map(Number);
if (sizesMiB.length === 0) sizesMiB.push(1024, 4096);

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

/** Compressible, non-zero, different per block. */
function blockData(n: number, salt: number): Buffer {
  const b = Buffer.alloc(BLOCK, (n + salt) % 251 || 1);
  b.writeUInt32LE(n, 0);
  b.writeUInt32LE(salt, 4);
  return b;
}

/** Distinct random block numbers below `blocks`. */
function scattered(count: number, blocks: number, seed: number): number[] {
  const chosen = new Set<number>();
  let x = seed;
  while (chosen.size < count) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    chosen.add(x % blocks);
  }
  return [...chosen].sort((a, b) => a - b);
}

const image = join(root, 'lvm-bench-btrfs.img');
const mount = join(root, 'lvm-bench-mnt');
mkdirSync(mount, { recursive: true });
const maxMiB = Math.max(...sizesMiB);
execFileSync('truncate', ['-s', `${Math.max(4096, maxMiB * 3)}M`, image]);
execFileSync('mkfs.btrfs', ['-q', '-f', image]);
execFileSync('mount', ['-o', 'loop', image, mount]);

const results: string[] = [];
try {
  for (const sizeMiB of sizesMiB) {
    const work = join(mount, `size-${sizeMiB}`);
    mkdirSync(work, { recursive: true });
    const m = startLvmModel(work);
    const vg = uniqueVgName('bench');
    const lv = `${vg}/vm-work-private`;
    // Wrappers that log how long each stand-in ran: the model's share of a send, to subtract.
    const timing = join(work, 'timed-bin');
    const timingLog = join(work, 'stand-in-ns.log');
    mkdirSync(timing, { recursive: true });
    for (const tool of ['lvm', 'dmsetup', 'thin_delta']) {
      writeFileSync(
        join(timing, tool),
        `#!/bin/sh\ns=$(date +%s%N)\n"${join(m.bin, tool)}" "$@"\nrc=$?\necho $(( $(date +%s%N) - s )) >> "${timingLog}"\nexit $rc\n`,
        { mode: 0o755 },
      );
    }
    const standInSeconds = () => {
      const text = existsSync(timingLog) ? readFileSync(timingLog, 'utf8') : '';
      rmSync(timingLog, { force: true });
      return (
        text
          .split('\n')
          .filter(Boolean)
          .reduce((n, line) => n + Number(line), 0) / 1e9
      );
    };
    const skiff = (args: string[]) => {
      standInSeconds();
      const started = process.hrtime.bigint();
      const r = spawnSync(
        process.execPath,
        [CLI, ...args, `--dest=file:${join(work, 'archive')}`, `--meta-dir=${join(work, 'meta')}`, '--authmin=0'],
        {
          env: { ...m.env, PATH: `${timing}:${m.env['PATH'] ?? ''}` },
          encoding: 'utf8',
        },
      );
      if (r.status !== 0) throw new Error(`skiff ${args.join(' ')}: ${r.status}\n${r.stdout}\n${r.stderr}`);
      return { seconds: seconds(started), model: standInSeconds(), stdout: r.stdout };
    };
    try {
      m.run('lvm', ['vgcreate', vg, '/dev/model-pv']);
      m.run('lvm', ['lvcreate', '--type', 'thin-pool', '-L', `${sizeMiB * 3}m`, '-n', 'vm-pool', vg]);
      m.run('lvm', ['lvcreate', '-V', `${sizeMiB}m`, '--thin', '-n', 'vm-work-private', `${vg}/vm-pool`]);
      const blocks = (sizeMiB * MiB) / BLOCK;
      let started = process.hrtime.bigint();
      for (let first = 0; first < blocks; first += 1024) {
        const writes = [];
        for (let n = first; n < Math.min(blocks, first + 1024); n++) writes.push({ offset: n * BLOCK, data: blockData(n, 0) });
        m.writeMany(lv, writes);
      }
      const fillSeconds = seconds(started);
      skiff(['arch-init', '--encrypt=off']);
      const full = skiff(['send', 'vm-work-private', `--local=${vg}/vm-pool`]);

      // The same changed bytes at every size: 10 MiB in scattered 64 KiB blocks.
      const same = scattered((10 * MiB) / BLOCK, blocks, 7);
      m.writeMany(
        lv,
        same.map((n) => ({ offset: n * BLOCK, data: blockData(n, 1) })),
      );
      const incremental = skiff(['send', 'vm-work-private', `--local=${vg}/vm-pool`]);
      if (/Queuing full scan/.test(incremental.stdout)) throw new Error('the incremental send read everything');
      results.push(
        `${sizeMiB} MiB LV: fill ${fillSeconds.toFixed(1)} s, full send ${full.seconds.toFixed(1)} s, ` +
          `incremental send after 10 MiB changed (${same.length} blocks): ${incremental.seconds.toFixed(2)} s, of which the model's ` +
          `stand-ins ${incremental.model.toFixed(2)} s and Skiff ${(incremental.seconds - incremental.model).toFixed(2)} s`,
      );

      if (sizeMiB === maxMiB) {
        // The delta step alone, 1% of the LV changed, between two snapshots taken here.
        const lvm = new Lvm(await findLvmTools(m.env));
        await lvm.createSnapshot(vg, 'vm-work-private', 'bench.skiff1', ['skiff']);
        const one = scattered(Math.round(blocks / 100), blocks, 11);
        m.writeMany(
          lv,
          one.map((n) => ({ offset: n * BLOCK, data: blockData(n, 2) })),
        );
        await lvm.createSnapshot(vg, 'vm-work-private', 'bench.skiff2', ['skiff']);
        const s1 = await lvm.lv(vg, 'bench.skiff1');
        const s2 = await lvm.lv(vg, 'bench.skiff2');
        const pool = await openLvmPool(`${vg}/vm-pool`, m.env);
        const request = {
          thin1: s1?.thinId ?? -1,
          thin2: s2?.thinId ?? -1,
          chunkSize: CHUNK,
          oldSize: sizeMiB * MiB,
          newSize: sizeMiB * MiB,
        };

        started = process.hrtime.bigint();
        await lvm.reserveMetadataSnap(vg, 'vm-pool');
        const reserveSeconds = seconds(started);
        started = process.hrtime.bigint();
        let xml = '';
        await lvm.thinDelta(vg, 'vm-pool', request.thin1, request.thin2, {
          onText: (text) => {
            xml += text;
          },
          deadlineMs: 600_000,
        });
        const thinDeltaSeconds = seconds(started);
        await lvm.releaseMetadataSnap(vg, 'vm-pool');

        // Skiff's own part: streaming parse and mapping, over the captured output in 64 KiB pieces.
        const runs = 5;
        let best = Number.POSITIVE_INFINITY;
        let chunks = 0;
        for (let r = 0; r < runs; r++) {
          started = process.hrtime.bigint();
          let mapper: DeltaChunkMapper | null = null;
          const parser = new ThinDeltaParser({
            left: request.thin1,
            right: request.thin2,
            onRange: (range) => {
              mapper ??= new DeltaChunkMapper({
                dataBlockSize: parser.dataBlockSize,
                chunkSize: CHUNK,
                oldSize: request.oldSize,
                newSize: request.newSize,
              });
              mapper.add(range);
            },
          });
          for (let at = 0; at < xml.length; at += 65536) parser.push(xml.slice(at, at + 65536));
          parser.end();
          const ranges = (mapper as DeltaChunkMapper | null)?.finish() ?? [];
          chunks = ranges.reduce((n, x) => n + x.end - x.start, 0);
          best = Math.min(best, seconds(started));
        }

        started = process.hrtime.bigint();
        const whole = await lvmDelta(pool, request);
        const wholeSeconds = seconds(started);
        results.push(
          `${sizeMiB} MiB LV, 1% changed (${one.length} blocks of 64 KiB): delta step ${wholeSeconds.toFixed(2)} s in all = ` +
            `model reserve_metadata_snap (thin_restore) ${reserveSeconds.toFixed(2)} s + real thin_delta ${thinDeltaSeconds.toFixed(2)} s ` +
            `(${(xml.length / 1024).toFixed(0)} KiB XML) + Skiff parse and mapping ${(best * 1000).toFixed(1)} ms (best of ${runs}; ` +
            `${chunks} chunks marked, ${whole.ranges.length} ranges)`,
        );
      }
    } finally {
      m.close();
      rmSync(work, { recursive: true, force: true });
    }
  }
} finally {
  execFileSync('umount', [mount]);
  rmSync(image, { force: true });
}
for (const line of results) process.stdout.write(`${line}\n`);
