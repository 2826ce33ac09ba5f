import { join } from 'node:path';
import { Command, Option } from 'clipanion';
import { isMetadataVolume, isVolumeId, type VolumeId } from '../../archive/names.js';
import type { Output } from '../../engine/output.js';
import { buildVolumeIndex } from '../../engine/select/volume-index.js';
import { deleteVolume } from '../../engine/volumes/delete.js';
import { cleanSnapshots, removeVolumeSnapshots } from '../../engine/volumes/local-snapshots.js';
import { cleanLvmSnapshots, removeLvmVolumeSnapshots } from '../../engine/volumes/lvm-snapshots.js';
import { FatalError, InputError, LocalStorageError } from '../../errors.js';
import { itemAt } from '../../lookup.js';
import { localLabel, openLocalStorage } from '../../source/local-pool.js';
import { snapshotPaths } from '../../source/reflink-source.js';
import { allOption, forceOption, localOption, volumesRest } from '../options.js';
import { WriteCommand } from '../write-command.js';

export class DeleteCommand extends WriteCommand {
  static override paths = [['delete']];
  static override operands = '[VOLUME]';
  static override usage = Command.Usage({
    description: 'Delete a volume and all its sessions from the archive, or clean local snapshots.',
    details: `
      delete VOLUME or delete --vid=Vol_xxxxxx removes one volume with all its data (asking
      first on a terminal, unless --force). The deletion is journaled in archive.ini, so an
      interrupted delete is completed by the next write command. With --local (a directory, or
      an LVM thin pool VG/POOL), the volume's local snapshots are removed too.

      delete --clean (needs --local, no volume names) removes Skiff snapshots of this archive
      that no volume is paired with; --purge=full removes all of this archive's snapshots,
      --purge=other also those of other archives; --clean --all removes every Skiff snapshot.
      In an LVM pool's VG only LVs named <lv>.skiff1/.skiff2 with the tag 'skiff' are Skiff
      snapshots; Wyng's .tick/.tock are never touched.
    `,
    examples: [
      ['Delete a volume', 'skiff --dest=file:/mnt/backup --local=/var/lib/images delete old.img'],
      ['Remove stale snapshots', 'skiff --dest=file:/mnt/backup --local=/var/lib/images delete --clean --force'],
    ],
  });

  local = localOption();
  vid = Option.String('--vid', { description: 'Delete the volume with this id (Vol_xxxxxx) instead of naming it' });
  force = forceOption();
  clean = Option.Boolean('--clean', false, { description: 'Remove stale local snapshots of this archive (needs --local)' });
  purge = Option.String('--purge', {
    description: "'full': remove all local snapshots of this archive; 'other': also those of other archives",
  });
  all = allOption();
  volumes = volumesRest();

  async run(): Promise<number> {
    if (this.purge !== undefined && this.purge !== 'other' && this.purge !== 'full')
      throw new InputError(`--purge must be 'other' or 'full', not '${this.purge}'.`);
    if (this.clean || this.purge !== undefined) return this.cleanSnapshots();
    if (this.volumes.length + (this.vid === undefined ? 0 : 1) !== 1) throw new InputError('Specify one volume to delete.');
    const out = this.output();
    this.banner(out);
    const local = await openLocalStorage(this.local, this.context.cwd, this.context.env);
    if (!local) {
      out.line('Note: A valid --local location was not specified; no volume snapshots will be removed.');
      out.line();
    }
    const ctx = await this.openForWrite(out);
    const { vid, name } = await this.findVolume(ctx.archive);
    if (name !== null && isMetadataVolume(name) && !this.force) throw new InputError('Use --force to delete a metadata volume.');
    const label = (this.vid === undefined ? name : null) ?? vid;
    if (this.attended && !this.force) {
      const yes = await this.confirm(
        `\nWarning! Delete will remove ALL metadata AND archived data for volume '${label}'\nAre you sure? [y/N]: `,
      );
      if (!yes) return 0;
    }
    out.line(`\nDeleting volume '${label}' from archive.`);
    await deleteVolume(ctx, vid);
    if (local?.kind === 'directory') await removeVolumeSnapshots(local.path, ctx.archive.ini.uuid, vid, name, out);
    else if (local?.kind === 'lvm') {
      // LVM snapshots are named after the LV: without the volume's name they cannot be found.
      if (name !== null) await removeLvmVolumeSnapshots(local.pool, ctx.archive.ini.uuid, name, out);
      else out.warn(`Volume ${vid} has no readable name: its snapshots in ${localLabel(local)} are left (delete --clean removes them).`);
    }
    return 0;
  }

  /** The volume to delete: its vid, and its name when its volinfo can be read. */
  private async findVolume(archive: import('../../archive/archive.js').Archive): Promise<{ vid: VolumeId; name: string | null }> {
    const index = await buildVolumeIndex(archive);
    if (this.vid !== undefined) {
      const vid = this.vid;
      if (!isVolumeId(vid) || !archive.ini.volumes.has(vid)) throw new FatalError(`Vid '${vid}' not found.`);
      const name = [...index.byName].find(([, v]) => v === vid)?.[0] ?? null;
      return { vid, name };
    }
    const name = itemAt(this.volumes, 0);
    const vid = index.byName.get(name);
    if (!vid) {
      const unreadable = index.unreadable.size;
      if (unreadable > 0) throw new FatalError(`Volume '${name}' not found (${unreadable} volume(s) could not be read; delete by --vid).`);
      throw new FatalError(`Volume '${name}' not found.`);
    }
    return { vid, name };
  }

  /** delete --clean / --purge: local snapshots only; the archive is read, never changed. */
  private async cleanSnapshots(): Promise<number> {
    if (this.volumes.length > 0 || this.vid !== undefined) throw new InputError('Cannot delete volumes with clean/purge.');
    if (this.local === undefined || this.local === '') throw new InputError('Local storage required for clean/purge.');
    const out = this.output();
    this.banner(out);
    const local = await openLocalStorage(this.local, this.context.cwd, this.context.env);
    if (!local)
      throw new LocalStorageError(`Local storage required for clean/purge: '${this.local}' is neither a directory nor an LVM thin pool.`);
    // The lock keeps sends of this archive from making snapshots meanwhile.
    const { archive } = await this.openForWrite(out);
    out.line(`Remove local Skiff snapshots from path '${localLabel(local)}'.`);
    if (this.attended && !this.force) {
      if (!(await this.confirm('Are you sure? [y/N]: '))) return 0;
    } else if (!this.force) {
      throw new FatalError('Ignoring clean/purge without --force.');
    }
    const purge = this.purge === 'other' || this.purge === 'full' ? this.purge : null;
    const index = this.all ? null : await buildVolumeIndex(archive);
    let removed: number;
    if (local.kind === 'lvm') {
      const scope = index && { uuid: archive.ini.uuid, names: new Set(index.byName.keys()), someUnreadable: index.unreadable.size > 0 };
      removed = await cleanLvmSnapshots(local.pool, scope, purge, out);
    } else {
      const dir = local.path;
      const scope = index && {
        uuid: archive.ini.uuid,
        current: new Set([...index.byName].map(([name, vid]) => snapshotPaths(join(dir, name), archive.ini.uuid, vid).paired)),
        unknownVids: new Set(index.unreadable.keys()),
      };
      removed = await cleanSnapshots(dir, scope, purge, out);
    }
    report(out, removed);
    return 0;
  }
}

function report(out: Output, removed: number): void {
  if (out.verbose) out.line(`${removed} snapshot${removed === 1 ? '' : 's'} removed.`);
}
