import { join } from 'node:path';
import { Command, Option } from 'clipanion';
import { MAX_ROOT_FILE_BYTES } from '../../archive/archive.js';
import { sessionLabel } from '../../archive/names.js';
import { archCheck } from '../../engine/maintain/arch-check.js';
import { changeArchiveUuid } from '../../engine/maintain/repair/change-uuid.js';
import { cleanDestination, destinationEntries } from '../../engine/maintain/repair/clean.js';
import { rewindVolume } from '../../engine/maintain/repair/rewind.js';
import type { RewindPlan } from '../../engine/maintain/repair/volume-health.js';
import type { Output } from '../../engine/output.js';
import { parseSessionSpec } from '../../engine/select/session-select.js';
import { buildVolumeIndex, selectVolumes } from '../../engine/select/volume-index.js';
import { cleanSnapshots } from '../../engine/volumes/local-snapshots.js';
import { cleanLvmSnapshots } from '../../engine/volumes/lvm-snapshots.js';
import { FatalError, InputError, LocalStorageError, VolumeErrors } from '../../errors.js';
import { type LocalStorage, localLabel, openLocalStorage } from '../../source/local-pool.js';
import { snapshotPaths } from '../../source/reflink-source.js';
import { anchorFor } from '../../state/dest-anchor.js';
import { LocalState } from '../../state/local-state.js';
import { destIdentity } from '../dest-url.js';
import { allOption, forceOption, localOption, sessionOption, volexOption, volumesRest } from '../options.js';
import type { OpenedArchive } from '../skiff-command.js';
import { type WriteAccess, WriteCommand } from '../write-command.js';
import { singleSession } from './common.js';

// arch-check is read-only unless a repair is asked for (--clean, --change-uuid) or accepted (a
// rewind). A repair opens the archive as every write command does (lock, counters, recovery of
// interrupted writes); a rewind accepted in the middle of a check reuses the archive already
// opened (keys, rollback check) rather than asking for the passphrase again.
export class ArchCheckCommand extends WriteCommand {
  static override paths = [['arch-check']];
  static override operands = '[VOLUME...]';
  static override usage = Command.Usage({
    description: 'Check the whole archive: every volume, session, manifest and chunk; repair it on request.',
    details: `
      Loads every volume's metadata through the hash chain, checks each volume's indexes, then
      reads and checks every chunk of every session, newest first. --session=newest checks only
      the newest session; --session=YYYYMMDD-HHMMSS starts at that session and goes back.

      A volume whose newest sessions are damaged can be rewound to its last good session (asked
      on a terminal; --force rewinds without asking). --clean removes stray directories and
      leftovers of interrupted writes from the destination; with --local (a directory or an
      LVM thin pool VG/POOL) it also removes this archive's local snapshots that belong to no
      volume of it (never another archive's, never Wyng's). --change-uuid gives the archive a
      new random uuid (asked on a terminal, or --force).
    `,
    examples: [
      ['Check everything', 'skiff --dest=file:/mnt/backup arch-check'],
      ['Check only the newest session of each volume', 'skiff --dest=file:/mnt/backup arch-check --session=newest'],
    ],
  });

  all = allOption();
  volex = volexOption();
  session = sessionOption("Where to start: 'newest', or YYYYMMDD-HHMMSS (default: every session)");
  force = forceOption();
  clean = Option.Boolean('--clean', false, {
    description: 'Remove stray volume directories and leftovers of interrupted writes (with --local: orphan local snapshots too)',
  });
  local = localOption();
  changeUuid = Option.Boolean('--change-uuid', false, { description: 'Give the archive a new random uuid' });
  volumes = volumesRest();

  private opened: OpenedArchive | null = null;
  private access: WriteAccess | null = null;
  /** The destination's entries before a --clean run's recovery, to report what it removed. */
  private entriesBefore: Set<string> | null = null;

  async run(): Promise<number> {
    const text = singleSession(this.session, 'arch-check');
    const spec = text === undefined ? null : parseSessionSpec(text, { allowNewest: true });
    if (spec?.kind === 'tag') throw new InputError("arch-check --session takes 'newest' or a date-time, not a tag.");
    const out = this.output();
    this.banner(out);
    if (this.changeUuid) return this.runChangeUuid(out);

    let archive: OpenedArchive['archive'];
    if (this.clean) {
      // Classified before anything is changed: a bad --local stops the run at once.
      const local = await openLocalStorage(this.local, this.context.cwd, this.context.env);
      if (this.local && !local) throw new LocalStorageError(`Local path not found: '${this.local}'`);
      const ctx = await this.writeAccess(out);
      archive = ctx.archive;
      await cleanDestination(ctx, out, this.entriesBefore);
      if (local) await this.cleanLocal(local, archive, out);
    } else {
      ({ archive } = await this.openArchive(out));
    }
    let names: string[] | null = null;
    if (this.volumes.length > 0 || this.volex.length > 0) {
      const index = await buildVolumeIndex(archive);
      names = selectVolumes(index, { names: this.volumes, all: this.volumes.length === 0 || this.all, exclude: this.volex });
    }
    const rewind = (plan: RewindPlan) => this.offerRewind(plan, out);
    const failed = await archCheck(archive, { names, session: spec, signal: this.context.signal, rewind }, out);
    if (failed.length > 0) throw new VolumeErrors(failed);
    return 0;
  }

  /** --clean --local: this archive's snapshots that no volume of it is paired with. */
  private async cleanLocal(local: LocalStorage, archive: OpenedArchive['archive'], out: Output): Promise<void> {
    const index = await buildVolumeIndex(archive);
    const uuid = archive.ini.uuid;
    let removed: number;
    if (local.kind === 'lvm') {
      removed = await cleanLvmSnapshots(
        local.pool,
        { uuid, names: new Set(index.byName.keys()), someUnreadable: index.unreadable.size > 0 },
        null,
        out,
      );
    } else {
      const current = new Set([...index.byName].map(([name, vid]) => snapshotPaths(join(local.path, name), uuid, vid).paired));
      removed = await cleanSnapshots(local.path, { uuid, current, unknownVids: new Set(index.unreadable.keys()) }, null, out);
    }
    if (out.verbose || removed > 0) out.line(`Removed ${removed} orphan snapshot${removed === 1 ? '' : 's'} from '${localLabel(local)}'.`);
  }

  /** Wyng: unattended without --force does nothing (exit 0); Skiff says so. */
  private async runChangeUuid(out: Output): Promise<number> {
    if (!this.force && !this.attended) {
      await this.openArchive(out);
      out.warn('UUID not changed: --change-uuid needs --force when not run on a terminal.');
      return 0;
    }
    const ctx = await this.writeAccess(out);
    if (!this.force && !(await this.confirm('\nChange archive UUID to a new random value;\nAre you sure? (y/N): '))) return 0;
    const identity = destIdentity(ctx.dest);
    const stateFor = (uuid: string) => LocalState.open(this.metaDirectory, uuid, identity, ctx.dest.text);
    const mode = ctx.archive.ini.mode;
    const recordAnchor = (uuid: string, previous: string | null) =>
      this.recordAnchor(anchorFor(identity, mode, uuid, previous ?? undefined));
    await changeArchiveUuid(ctx, stateFor, out, { recordAnchor });
    out.line('UUID updated.');
    return 0;
  }

  /** Attended: ask; --force: yes; unattended without --force: no (the volume fails). */
  private async offerRewind(plan: RewindPlan, out: Output): Promise<boolean> {
    let yes = this.force;
    if (!yes && this.attended) yes = await this.confirm('Rewind volume to this session to recover? ');
    else if (!yes) out.warn('Not rewinding: use --force to rewind when not run on a terminal.');
    if (!yes) return false;
    const ctx = await this.writeAccess(out);
    out.line(`\nRewinding volume to ${sessionLabel(plan.keep.at(-1)?.name ?? plan.firstBad)}`);
    await rewindVolume(ctx, plan);
    out.line('Done.');
    return true;
  }

  private async writeAccess(out: Output): Promise<WriteAccess> {
    if (this.access) return this.access;
    const access = await this.openForWrite(out);
    // The archive may have been read long before the lock was taken (a rewind is offered after
    // a check): refuse to write from a root that another run has replaced since.
    const current = await access.archive.store.read('archive.ini', MAX_ROOT_FILE_BYTES);
    if (!current.equals(access.archive.rootBytes)) throw new FatalError('archive.ini changed while arch-check ran; run it again.');
    this.access = access;
    return access;
  }

  /**
   * Opens the archive once, as a read command would (a repair must not create a missing archive
   * directory); openForWrite, for a repair, gets the same archive, which then needs local state.
   */
  override async openArchive(out: Output, options: { write?: boolean } = {}): Promise<OpenedArchive> {
    if (!this.opened) {
      this.opened = await super.openArchive(out, { write: false });
      if (this.clean && options.write) this.entriesBefore = await destinationEntries(this.opened.archive.store);
    }
    if (options.write && !this.opened.state) throw new LocalStorageError('Cannot repair the archive without the local metadata directory.');
    return this.opened;
  }
}
