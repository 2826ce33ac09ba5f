import { lstat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, Option } from 'clipanion';
import type { Archive, Volume } from '../../archive/archive.js';
import { isMetadataVolume, volumeNameProblem } from '../../archive/names.js';
import type { Output } from '../../engine/output.js';
import { poolTarget, receiveIntoPool, type SnapshotUse } from '../../engine/restore/pool-receive.js';
import { receiveVolume } from '../../engine/restore/receive.js';
import { openReceivePool, type ReceivePool } from '../../engine/restore/receive-pool.js';
import { applyLvPermission } from '../../engine/restore/thin-target.js';
import { parseSessionSpec, type SessionChoice } from '../../engine/select/session-select.js';
import { buildVolumeIndex } from '../../engine/select/volume-index.js';
import { InputError, IntegrityError, LocalStorageError, VolumeErrors, VolumeFailure } from '../../errors.js';
import { itemAt, valueFor } from '../../lookup.js';
import { thinVolumeAt } from '../../source/lvm/thin-volumes.js';
import {
  allOption,
  forceOption,
  localOption,
  sessionOption,
  sessionStrictOption,
  volexOption,
  volsFromOption,
  volumesRest,
} from '../options.js';
import { SkiffCommand } from '../skiff-command.js';
import { loadVolsFrom, setVolumeNames, writeErrorFile } from '../vols-from.js';
import { parseStrict, reportUnreadable, requireVolumes, selectOrSkip, singleSession, volumeSession } from './common.js';

export class ReceiveCommand extends SkiffCommand {
  static override paths = [['receive']];
  static override operands = 'VOLUME...';
  static override usage = Command.Usage({
    description: 'Restore volumes from the archive to a file, a block device, a directory or an LVM thin pool.',
    details: `
      Writes each volume as it was at one session (the newest unless --session is given): one
      volume to the path given by --save-to, or any number (or --all) into --local — the LV of the
      volume's name in an LVM thin pool VG/POOL (created when missing, resized to the session's
      size), or the file DIR/VOLUME in a directory. A file is written under a temporary name and
      renamed into place only after every chunk passed its checks; all-zero chunks become holes.
      A block device is written in place with its first chunk last; if the receive fails, that
      first chunk is zeroed so the partial restore cannot be mistaken for a good one. A thin LV is
      discarded first and its all-zero chunks are not written; it gets the session's permission.
      Receiving the newest session into a reflink or LVM pool pairs the volume with it again, so
      the next send is incremental. --use-snapshot starts from the paired snapshot (the newest
      session then needs no transfer); --use-snapshot-diff reads only the chunks later sessions
      changed; --req-snapshot fails a volume that has no usable snapshot. A volume that fails is
      reported and the others are still received (exit 2 at the end). A name the archive lacks
      is skipped with a line, as in Wyng. In DIR, a directory or a symbolic link where the
      volume's file goes fails that volume: a link is neither followed nor replaced (--save-to
      names the file it points to).
      --vols-from=FILE (or --local-from) takes Wyng's JSON of volume sets instead of the volumes
      named: each set's volumes go into that set's local storage, under the set's alias for a
      volume (the local name) when it gives one; failed volumes are listed in FILE.error.
    `,
    examples: [
      ['Restore the newest session', 'skiff --dest=file:/mnt/backup receive vm.img --save-to=/var/tmp/vm.img'],
      ['Restore into a thin pool', 'skiff --dest=file:/mnt/backup --local=qubes_dom0/vm-pool receive vm-work-private'],
      [
        'Restore volumes of two pools, as wyng-util-qubes does',
        'skiff --dest=file:/mnt/backup receive --force --sparse-write --local-from=/tmp/sets.json',
      ],
      [
        'Restore every volume into a Btrfs subvolume from its snapshots',
        'skiff --dest=file:/mnt/backup --local=/var/lib/vms receive -a --use-snapshot',
      ],
    ],
  });

  local = localOption();
  saveTo = Option.String('--save-to', { description: 'File or block device to write the volume to' });
  all = allOption();
  volex = volexOption();
  session = sessionOption('Session to restore: YYYYMMDD-HHMMSS or ^tag (default: the newest)');
  sessionStrict = sessionStrictOption();
  force = forceOption();
  skipCorruptChunks = Option.Boolean('--skip-corrupt-chunks', false, {
    description: 'Restore chunks that fail their checks as zeros instead of stopping (exit code 2)',
  });
  useSnapshot = Option.Boolean('--use-snapshot', false, {
    description: 'Into --local: start from the paired snapshot (the newest session needs no transfer)',
  });
  useSnapshotDiff = Option.Boolean('--use-snapshot-diff', false, {
    description: 'Like --use-snapshot; for an older session read only the chunks later sessions changed',
  });
  reqSnapshot = Option.Boolean('--req-snapshot', false, {
    description: 'Fail a volume (exit 2) that cannot be served from its paired snapshot',
  });
  vouch = Option.Array('--vouch', [], {
    description: 'reflink_fs_<type> and fs_online_factors: a reflink file system other than Btrfs (for snapshots)',
  });
  sparseWrite = Option.Boolean('--sparse-write', false, {
    description: 'Keep the existing target and write only the chunks that differ (zero chunks deallocated)',
  });
  sparse = Option.Boolean('--sparse', false, {
    description: 'Like --sparse-write, and fetch only the chunks whose local hash differs (slow links)',
  });
  volsFrom = volsFromOption();
  volumes = volumesRest();

  async run(): Promise<number> {
    const volsFrom = loadVolsFrom(this.volsFrom, this.context.cwd, this.volumes, this.context.stderr);
    if (!volsFrom) requireVolumes(this.volumes, this.all, 'receive');
    const toLocal = this.saveTo === undefined || this.saveTo === '';
    if (volsFrom && !toLocal) throw new InputError('--save-to cannot be used with --vols-from: each set names its --local.');
    // --vols-from: each volume goes to its set's --local, under its alias if it has one (§9.6).
    const placed = new Map<string, Placement>();
    for (const set of volsFrom?.sets ?? [])
      for (const v of set.volumes) placed.set(v.name, { local: set.local ?? this.local, localName: v.alias ?? v.name });
    for (const { localName } of placed.values()) {
      const problem = volumeNameProblem(localName);
      if (problem) throw new InputError(`${problem} (${JSON.stringify(localName)})`);
    }
    const placementOf = (name: string): Placement => placed.get(name) ?? { local: this.local, localName: name };
    const specs = new Set(volsFrom ? [...placed.values()].map((p) => p.local) : [this.local]);
    if (this.all) specs.add(this.local);
    if (toLocal && [...specs].some((spec) => spec === undefined || spec === ''))
      throw new InputError('receive needs --save-to=PATH or --local=VG/POOL|DIR.');
    // Wyng counts the volumes for --save-to after the unknown names are skipped (below).
    if (!toLocal && this.all) throw new InputError(ONE_FOR_SAVE_TO);
    const spec = parseSessionSpec(singleSession(this.session, 'receive'));
    const strict = parseStrict(this.sessionStrict);
    // --save-to wins over --local (as in Wyng).
    const pools = new Map<string, ReceivePool>();
    if (toLocal)
      for (const local of specs)
        pools.set(local ?? '', await openReceivePool(local ?? '', { cwd: this.context.cwd, vouch: this.vouch, env: this.context.env }));
    const poolOf = (name: string): ReceivePool | null => (toLocal ? valueFor(pools, placementOf(name).local ?? '') : null);
    const out = this.output();
    this.banner(out);
    const { archive, state } = await this.openArchive(out);
    const index = await buildVolumeIndex(archive);
    const requested = volsFrom ? setVolumeNames(volsFrom) : this.volumes;
    // A name the archive lacks is skipped with Wyng's line (§1.2 step 14), from --vols-from too;
    // it is no failure, so it is not in FILE.error (Wyng lists only failed volumes there).
    const names = selectOrSkip(index, { names: requested, all: this.all, exclude: this.volex }, out);
    if (!toLocal && names.length !== 1) throw new InputError(ONE_FOR_SAVE_TO);
    const failed = this.all ? reportUnreadable(index, out) : [];
    const targets = names.map((name) => {
      const pool = poolOf(name);
      return pool ? poolTarget(pool, placementOf(name).localName) : resolve(this.context.cwd, this.saveTo ?? '');
    });
    // Ask only when something is there to be overwritten.
    if (this.attended && !this.force && (await anyExists(targets))) {
      const yes = await this.confirm('\nWarning:  Receiving to existing volumes will overwrite them!\nAre you sure? [y/N]: ');
      if (!yes) return 1;
    }
    // --req-snapshot implies --use-snapshot.
    const useSnapshot: SnapshotUse = this.useSnapshotDiff ? 'diff' : this.useSnapshot || this.reqSnapshot ? 'full' : 'off';
    const snapshotAsked = this.useSnapshot || this.useSnapshotDiff;
    for (const [i, name] of names.entries()) {
      const pool = poolOf(name);
      try {
        const selected = await volumeSession(archive, index, name, { spec, strict, verb: 'receive' }, out);
        if (selected === 'failed') failed.push(name);
        if (typeof selected === 'string') continue;
        const { volume, choice } = selected;
        if (pool) {
          const request = { archive, volume, choice, pool, localName: placementOf(name).localName, state, ...this.writeOptions() };
          const result = await receiveIntoPool({ ...request, useSnapshot, snapshotAsked, requireSnapshot: this.reqSnapshot }, out);
          if (result.outcome === 'no-snapshot') {
            out.warn(`\nError: Snapshot not available for '${name}' ${choice.session.name}.`);
            failed.push(name);
          } else if (result.skipped > 0) failed.push(name);
          continue;
        }
        if (this.reqSnapshot && !isMetadataVolume(name)) {
          // --save-to is never served from a snapshot.
          out.warn(`\nError: Snapshot not available for '${name}' ${choice.session.name}.`);
          failed.push(name);
          continue;
        }
        if ((await this.receiveTo(archive, volume, choice, itemAt(targets, i), out)) > 0) failed.push(name);
      } catch (error) {
        // Into --local, a volume that cannot be written (read-only, in the way, not an LV name)
        // fails alone; the others are still received.
        const local =
          pool !== null && (error instanceof InputError || error instanceof LocalStorageError || error instanceof VolumeFailure);
        if (!(error instanceof IntegrityError) && !local) throw error;
        out.warn(`Error: ${error.message}`);
        failed.push(name);
      }
    }
    if (failed.length > 0) {
      if (volsFrom) writeErrorFile(volsFrom, failed);
      throw new VolumeErrors(failed);
    }
    return 0;
  }

  /** How every volume is written: cancellation, corrupt chunks, sparse modes (§5.3). */
  private writeOptions() {
    return {
      signal: this.context.signal,
      skipCorrupt: this.skipCorruptChunks,
      env: this.context.env,
      sparse: this.sparse ? ('fetch' as const) : this.sparseWrite ? ('write' as const) : undefined,
    };
  }

  /** --save-to: a file, a block device or a thin LV; returns the chunks restored as zeros. */
  private async receiveTo(archive: Archive, volume: Volume, choice: SessionChoice, target: string, out: Output): Promise<number> {
    const thin = await thinVolumeAt(target, this.context.env);
    const result = await receiveVolume(archive, volume, choice, target, out, {
      ...this.writeOptions(),
      ...(thin ? { target: { discard: true } } : {}),
    });
    if (thin) await applyLvPermission(thin.lvm, thin.row.vg, thin.row.name, choice.session.info.permissions);
    return result.skipped;
  }
}

const ONE_FOR_SAVE_TO = 'Specify one volume for receive --save-to.';

/** Where a volume is received: the --local spec and its name there. */
interface Placement {
  local: string | undefined;
  localName: string;
}

async function anyExists(paths: readonly string[]): Promise<boolean> {
  for (const path of paths) {
    if (
      await lstat(path).then(
        () => true,
        () => false,
      )
    )
      return true;
  }
  return false;
}
