import { lstat, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, Option } from 'clipanion';
import type { Archive, Volume } from '../../archive/archive.js';
import type { Output } from '../../engine/output.js';
import { receiveVolume } from '../../engine/restore/receive.js';
import { repairThinVolume } from '../../engine/restore/thin-pairing.js';
import { applyLvPermission, prepareThinVolume } from '../../engine/restore/thin-target.js';
import { chooseSession, parseSessionSpec } from '../../engine/select/session-select.js';
import { buildVolumeIndex, selectVolumes } from '../../engine/select/volume-index.js';
import { InputError, IntegrityError, LocalStorageError, VolumeErrors } from '../../errors.js';
import { itemAt, valueFor } from '../../lookup.js';
import { openLocalPool } from '../../source/local-pool.js';
import { type LvmPool, looksLikeLvm } from '../../source/lvm/lvm-pool.js';
import { thinVolumeAt } from '../../source/lvm/thin-volumes.js';
import type { LocalState } from '../../state/local-state.js';
import { forceOption, localOption, sessionOption, sessionStrictOption, volumesRest } from '../options.js';
import { SkiffCommand } from '../skiff-command.js';
import { parseStrict, singleSession } from './common.js';

export class ReceiveCommand extends SkiffCommand {
  static override paths = [['receive']];
  static override operands = 'VOLUME';
  static override usage = Command.Usage({
    description: 'Restore a volume from the archive to a file, a block device or an LVM thin pool.',
    details: `
      Writes the volume as it was at one session (the newest unless --session is given) to the
      path given by --save-to, or into the LVM thin pool given by --local=VG/POOL as the LV of
      the volume's name (created when missing, resized to the session's size). A file is written
      under a temporary name and renamed into place only after every chunk passed its checks;
      all-zero chunks become holes. A block device is written in place with its first chunk
      last; if the receive fails, that first chunk is zeroed so the partial restore cannot be
      mistaken for a good one. A thin LV (in the pool, or --save-to=/dev/VG/LV) is discarded
      first and its all-zero chunks are not written; it gets the session's permission (r/rw).
      Receiving the newest session into --local pairs the LV with it again, so the next send
      is incremental.
    `,
    examples: [
      ['Restore the newest session', 'skiff --dest=file:/mnt/backup receive vm.img --save-to=/var/tmp/vm.img'],
      ['Restore into a thin pool', 'skiff --dest=file:/mnt/backup --local=qubes_dom0/vm-pool receive vm-work-private'],
    ],
  });

  local = localOption();
  saveTo = Option.String('--save-to', { description: 'File or block device to write the volume to' });
  session = sessionOption('Session to restore: YYYYMMDD-HHMMSS or ^tag (default: the newest)');
  sessionStrict = sessionStrictOption();
  force = forceOption();
  skipCorruptChunks = Option.Boolean('--skip-corrupt-chunks', false, {
    description: 'Restore chunks that fail their checks as zeros instead of stopping (exit code 2)',
  });
  sparseWrite = Option.Boolean('--sparse-write', false, {
    description: 'Keep the existing target and write only the chunks that differ (zero chunks deallocated)',
  });
  sparse = Option.Boolean('--sparse', false, {
    description: 'Like --sparse-write, and fetch only the chunks whose local hash differs (slow links)',
  });
  volumes = volumesRest();

  async run(): Promise<number> {
    if (this.volumes.length === 0) throw new InputError('Volume name(s) or --all required for receive.');
    const toLocal = this.saveTo === undefined || this.saveTo === '';
    if (toLocal && (this.local === undefined || this.local === ''))
      throw new InputError('receive needs --save-to=PATH or --local=VG/POOL.');
    if (this.volumes.length !== 1) throw new InputError(`Specify one volume for receive ${toLocal ? '--local' : '--save-to'}.`);
    const spec = parseSessionSpec(singleSession(this.session, 'receive'));
    const strict = parseStrict(this.sessionStrict);
    // --save-to wins over --local (as in Wyng); --local must be a thin pool here.
    const pool = toLocal ? await this.thinPool(this.local ?? '') : null;
    const out = this.output();
    this.banner(out);
    const { archive, state } = await this.openArchive(out);
    const index = await buildVolumeIndex(archive);
    const name = itemAt(selectVolumes(index, { names: this.volumes, all: false, exclude: [] }), 0);
    try {
      const volume = await archive.loadVolume(valueFor(index.byName, name));
      const choice = chooseSession(volume, spec, strict);
      if (typeof choice === 'string') {
        out.warn(choice);
        throw new VolumeErrors([name]);
      }
      if (choice.note) out.line(choice.note);
      const target = pool ? `/dev/${pool.vg}/${volume.name}` : resolve(this.context.cwd, this.saveTo ?? '');
      // Ask only when something is there to be overwritten.
      if (
        this.attended &&
        !this.force &&
        (await lstat(target).then(
          () => true,
          () => false,
        ))
      ) {
        const yes = await this.confirm('\nWarning:  Receiving to existing volumes will overwrite them!\nAre you sure? [y/N]: ');
        if (!yes) return 1;
      }
      const session = choice.session;
      const options = {
        signal: this.context.signal,
        skipCorrupt: this.skipCorruptChunks,
        env: this.context.env,
        sparse: this.sparse ? ('fetch' as const) : this.sparseWrite ? ('write' as const) : undefined,
      };
      if (pool) {
        await prepareThinVolume(pool, volume.name, session.info.volsize, out);
        const result = await receiveVolume(archive, volume, choice, target, out, {
          ...options,
          target: { discard: true, kind: 'tlvm pool' },
        });
        await applyLvPermission(pool.lvm, pool.vg, volume.name, session.info.permissions);
        if (result.skipped > 0) throw new VolumeErrors([name]);
        if (choice.index === volume.sessions.length - 1) await this.repair(pool, archive, volume, state, out);
        return 0;
      }
      const thin = await thinVolumeAt(target, this.context.env);
      const result = await receiveVolume(archive, volume, choice, target, out, {
        ...options,
        ...(thin ? { target: { discard: true } } : {}),
      });
      if (thin) await applyLvPermission(thin.lvm, thin.row.vg, thin.row.name, session.info.permissions);
      if (result.skipped > 0) throw new VolumeErrors([name]);
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      out.warn(`Error: ${error.message}`);
      throw new VolumeErrors([name]);
    }
    return 0;
  }

  /** --local for a receive without --save-to: an LVM thin pool (file pools are not supported yet). */
  private async thinPool(local: string): Promise<LvmPool> {
    const isDirectory = await stat(resolve(this.context.cwd, local)).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!isDirectory && looksLikeLvm(local)) {
      // As send classifies it: a missing `lvm`, VG, pool, or a thin volume given instead, is said so.
      const pool = await openLocalPool(local, { cwd: this.context.cwd, vouch: [], env: this.context.env });
      if (pool.kind === 'lvm') return pool.pool;
    }
    throw new LocalStorageError(
      `Receiving into --local='${local}' is supported only for an LVM thin pool (--local=VG/POOL); use --save-to=PATH for files.`,
    );
  }

  /** After the newest session was received into the pool: pair the LV with it again. */
  private async repair(pool: LvmPool, archive: Archive, volume: Volume, state: LocalState | null, out: Output): Promise<void> {
    if (!state) {
      out.warn(`  Not pairing '${volume.name}': no local state this run; the next send reads it whole.`);
      return;
    }
    await repairThinVolume(
      {
        pool,
        uuid: archive.ini.uuid,
        vid: volume.vid,
        name: volume.name,
        session: itemAt(volume.sessions, volume.sessions.length - 1),
        state,
      },
      out,
    );
  }
}
