// `monitor VOLUME...|-a`: between sends, take a new snapshot of each volume, fold what changed
// since the paired snapshot into the volume's deltamap and rotate, so the old snapshot's space
// (thin-pool blocks, file extents) is released while the next send still knows every chunk
// that changed since the newest session (behavior spec §2.5). Sends nothing: the archive is only
// read, but the destination's lock is held so that a send of the same archive cannot rotate the
// same snapshots at the same time.

import { resolve } from 'node:path';
import { Command, Option } from 'clipanion';
import { volumeNameProblem } from '../../archive/names.js';
import { buildVolumeIndex } from '../../engine/select/volume-index.js';
import { sessionNameAt } from '../../engine/send/send.js';
import { InputError, VolumeErrors } from '../../errors.js';
import { type LocalPool, openLocalPool } from '../../source/local-pool.js';
import { LvmDeltaBatch } from '../../source/lvm/delta-batch.js';
import { releaseStaleReservation } from '../../source/lvm/lvm-pool.js';
import { type PendingLvmMonitor, startLvmMonitor } from '../../source/lvm-monitor.js';
import type { MonitorResult } from '../../source/monitor-result.js';
import { monitorReflinkVolume } from '../../source/reflink-monitor.js';
import { allOption, localOption, volexOption, volsFromOption, volumesRest } from '../options.js';
import { loadVolsFrom, setVolumeNames, writeErrorFile } from '../vols-from.js';
import { WriteCommand } from '../write-command.js';
import { requireVolumes, selectOrSkip } from './common.js';

export class MonitorCommand extends WriteCommand {
  static override paths = [['monitor']];
  static override operands = '[VOLUME...]';
  static override usage = Command.Usage({
    description: 'Record which chunks changed since the last send and release the old snapshots (sends nothing).',
    details: `
      For each volume (--local=VG/POOL thin LVs, or files in a reflink pool) a new snapshot is
      taken, the chunks that changed since the paired snapshot are added to the volume's deltamap
      in the local state, and the new snapshot replaces the old one, so the space only the old
      snapshot held is released. The next send reads the chunks in the map as well as its own
      delta. Output per volume: "<N> ch, <M> dis" (chunks newly marked, chunks' worth unmapped)
      or "no change". Volumes without a session or a paired snapshot are skipped.
    `,
    examples: [['Monitor every volume of the archive', 'skiff --dest=file:/mnt/backup --local=qubes_dom0/vm-pool monitor -a']],
  });

  local = localOption();
  all = allOption();
  volex = volexOption();
  vouch = Option.Array('--vouch', [], {
    description: 'reflink_fs_<type> and fs_online_factors: allow a reflink file system other than Btrfs',
  });
  volsFrom = volsFromOption();
  volumes = volumesRest();

  async run(): Promise<number> {
    const volsFrom = loadVolsFrom(this.volsFrom, this.context.cwd, this.volumes, this.context.stderr);
    if (!volsFrom) requireVolumes(this.volumes, this.all, 'monitor');
    // --vols-from: each volume in its set's --local, under its alias if it has one.
    const localOf = new Map<string, { local: string | undefined; localName: string }>();
    for (const set of volsFrom?.sets ?? [])
      for (const v of set.volumes) localOf.set(v.name, { local: set.local ?? this.local, localName: v.alias ?? v.name });
    const requested = volsFrom ? setVolumeNames(volsFrom) : this.volumes;
    for (const name of [...requested, ...[...localOf.values()].map((l) => l.localName)]) {
      const problem = volumeNameProblem(name);
      if (problem) throw new InputError(`${problem} (${JSON.stringify(name)})`);
    }
    const specs = volsFrom ? [...new Set([...localOf.values()].map((l) => l.local))] : [this.local];
    if (specs.some((spec) => spec === undefined || spec === '')) throw new InputError('Monitor needs --local.');
    const startedAt = new Date(this.context.now() * 1000);
    const out = this.consoleOutput();
    this.banner(out);
    const { archive, state } = await this.openForWrite(out);
    const index = await buildVolumeIndex(archive);
    // A name the archive lacks is skipped with Wyng's line before any work (§1.2 step 14).
    const found = selectOrSkip(index, { names: requested, all: this.all, exclude: this.volex }, out);
    // Named volumes in the order given; --all in Wyng's sorted order.
    const names = this.all ? found : [...new Set(requested)].filter((name) => found.includes(name));
    const pools = new Map<string, LocalPool>();
    for (const spec of specs) {
      const local = await openLocalPool(spec ?? '', { cwd: this.context.cwd, vouch: this.vouch, env: this.context.env });
      pools.set(spec ?? '', local);
      out.line(`\nPreparing snapshots in '${local.kind === 'lvm' ? `${local.pool.vg}/${local.pool.pool}` : resolve(local.pool.path)}/'...`);
      if (local.kind === 'lvm' && (await releaseStaleReservation(local.pool)))
        out.line(`  Released a metadata snapshot of ${local.pool.vg}/${local.pool.pool} that an earlier run left reserved.`);
    }

    // Step 1: snapshots (and reflink volumes whole); step 2: every LVM delta under one
    // reservation per pool (Wyng's "Acquiring deltas."); step 3: fold and rotate.
    const batch = new LvmDeltaBatch();
    const started: { name: string; result: MonitorResult | PendingLvmMonitor }[] = [];
    try {
      for (const name of names) {
        const vid = index.byName.get(name);
        const volume = vid ? await archive.loadVolume(vid) : null;
        const session = volume?.sessions.at(-1);
        const last = session
          ? { name: session.name, sequence: session.info.sequence, volsize: session.info.volsize, permissions: session.info.permissions }
          : null;
        const where = localOf.get(name);
        const local = pools.get((where ? where.local : this.local) ?? '') ?? null;
        const result =
          vid && local
            ? await this.monitorOne(
                local,
                batch,
                { name: where?.localName ?? name, vid, uuid: archive.ini.uuid, chunkSize: archive.chunkSize, state, last },
                out,
              )
            : null;
        const final: MonitorResult | PendingLvmMonitor = result ?? {
          outcome: 'skipped',
          message: `  Skipping '${name}'; No data.`,
          failed: false,
        };
        if ('outcome' in final && final.outcome === 'skipped') out.warn(final.message);
        started.push({ name, result: final });
      }
      if (batch.size > 0) {
        out.line('Acquiring deltas.');
        await batch.acquire();
      }
    } catch (error) {
      for (const { result } of started) if ('discard' in result) await result.discard();
      throw error;
    }
    const results: { name: string; result: MonitorResult }[] = [];
    for (const [i, { name, result }] of started.entries()) {
      try {
        results.push({ name, result: 'finish' in result ? await result.finish() : result });
      } catch (error) {
        for (const later of started.slice(i + 1)) if ('discard' in later.result) await later.result.discard();
        throw error;
      }
    }

    const monitored = results.filter((r) => r.result.outcome !== 'skipped');
    if (monitored.length > 0) {
      out.line(`\nMonitor at ${sessionNameAt(startedAt).slice(2)}:`);
      out.line('—'.repeat(50));
      for (const { name, result } of monitored) {
        out.line(`Volume '${name}'`);
        if (result.outcome === 'changed') {
          out.line(`  ${result.newChunks} ch, ${result.freedChunks} dis`);
          if (result.grew) out.line('  Volume size has increased.');
        } else {
          out.line('  no change');
        }
      }
      out.line('');
    }
    const failed = results.filter((r) => r.result.outcome === 'skipped' && r.result.failed).map((r) => r.name);
    if (failed.length > 0) {
      if (volsFrom) writeErrorFile(volsFrom, failed);
      throw new VolumeErrors(failed);
    }
    return 0;
  }

  private monitorOne(
    local: LocalPool,
    batch: LvmDeltaBatch,
    request: Omit<Parameters<typeof monitorReflinkVolume>[0], 'pool'>,
    out: { line: (text: string) => void },
  ): Promise<MonitorResult | PendingLvmMonitor> {
    if (local.kind === 'lvm')
      return startLvmMonitor({ ...request, pool: local.pool, batch, signal: this.context.signal, note: (text: string) => out.line(text) });
    return monitorReflinkVolume({ ...request, pool: local.pool });
  }
}
