import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, Option } from 'clipanion';
import { diffVolume } from '../../engine/restore/diff.js';
import { buildVolumeIndex } from '../../engine/select/volume-index.js';
import { IntegrityError, VolumeErrors, VolumeFailure } from '../../errors.js';
import { lastOf, valueFor } from '../../lookup.js';
import { DIFF_TARGET_NOTES, fileDiffTarget } from '../../source/local-volume.js';
import { allOption, localOption, sessionOption, volexOption, volsFromOption, volumesRest } from '../options.js';
import { SkiffCommand } from '../skiff-command.js';
import { loadVolsFrom, setVolumeNames, writeErrorFile } from '../vols-from.js';
import { reportUnreadable, requireVolumes, selectOrSkip } from './common.js';

export class DiffCommand extends SkiffCommand {
  static override paths = [['diff']];
  static override operands = '[VOLUME...]';
  static override usage = Command.Usage({
    description: "Compare volumes under --local with the archive's newest session.",
    details: `
      Compares each volume's paired snapshot (the state its newest session was sent from) with
      that session, or the volume itself when it has no snapshot, as Wyng does: after the volume
      changes, diff still reports OK until the next send moves the snapshot. Every data chunk is
      read from the archive and compared byte for byte; with --quick nothing is read from the
      archive, each local chunk is compressed and hashed as send would and compared with the
      manifest. diff stops at the first difference ("Diff bytes: N") unless --all-chunks is given.
      A difference puts the volume on the error list (exit code 2). --session is accepted and
      ignored, as in Wyng: diff always uses the newest session.
    `,
    examples: [
      ['Compare a volume with its newest session', 'skiff --dest=file:/mnt/backup --local=/var/lib/images diff vm.img'],
      [
        'Count every differing chunk, reading nothing from the archive',
        'skiff --dest=file:/mnt/backup --local=/var/lib/images diff vm.img --quick --all-chunks',
      ],
    ],
  });

  all = allOption();
  volex = volexOption();
  local = localOption();
  session = sessionOption('Ignored (diff always uses the newest session, as in Wyng)');
  quick = Option.Boolean('--quick', false, {
    description: "Read nothing from the archive: compare each local chunk's hash with the manifest",
  });
  allChunks = Option.Boolean('--all-chunks', false, {
    description: 'Compare every chunk and count the differing ones instead of stopping at the first (Skiff only)',
  });
  remap = Option.Boolean('--remap', false, { description: 'Accepted as Wyng accepts it for diff; no effect (as in Wyng 0.8)' });
  volsFrom = volsFromOption();
  volumes = volumesRest();

  async run(): Promise<number> {
    const volsFrom = loadVolsFrom(this.volsFrom, this.context.cwd, this.volumes, this.context.stderr);
    if (!volsFrom) requireVolumes(this.volumes, this.all, 'diff');
    // --vols-from: each volume is compared with its set's --local, under its alias if it has one.
    const localOf = new Map<string, { local: string | undefined; localName: string }>();
    for (const set of volsFrom?.sets ?? [])
      for (const v of set.volumes) localOf.set(v.name, { local: set.local ?? this.local, localName: v.alias ?? v.name });
    const out = this.output();
    this.banner(out);
    const { archive, state } = await this.openArchive(out);
    const index = await buildVolumeIndex(archive);
    const names = selectOrSkip(
      index,
      { names: volsFrom ? setVolumeNames(volsFrom) : this.volumes, all: this.all, exclude: this.volex },
      out,
    );
    const failed = this.all ? reportUnreadable(index, out) : [];
    if (this.session !== undefined) out.warn('Note: diff ignores --session (as Wyng does) and compares with the newest session.');
    const directories = new Map<string, string | null>();
    // Without --vols-from, --local is checked (and reported offline) whatever is selected, as in Wyng.
    if (!volsFrom) directories.set(this.local ?? '', await this.localDirectory(this.local, out));
    for (const name of names) {
      const spec = localOf.get(name)?.local ?? this.local;
      if (!directories.has(spec ?? '')) directories.set(spec ?? '', await this.localDirectory(spec, out));
      const local = directories.get(spec ?? '') ?? null;
      if (local === null) {
        out.warn('Please specify a valid --local storage.');
        failed.push(name);
        continue;
      }
      try {
        const volume = await archive.loadVolume(valueFor(index.byName, name));
        if (volume.sessions.length === 0) {
          out.warn('No sessions available.');
          failed.push(name);
          continue;
        }
        const newest = lastOf(volume.sessions);
        const target = await fileDiffTarget(
          local,
          localOf.get(name)?.localName ?? name,
          { uuid: archive.ini.uuid, vid: volume.vid },
          state ? await state.volume(volume.vid) : null,
          { name: newest.name, sequence: newest.info.sequence },
        );
        if ('missing' in target) {
          out.warn(target.missing);
          failed.push(name);
          continue;
        }
        const note = DIFF_TARGET_NOTES[target.kind];
        if (note !== null) out.line(note);
        const archiveSize = newest.info.volsize;
        if (target.view.size !== archiveSize) {
          out.warn(`'${name}' Volume sizes differ:\n  Archive = ${archiveSize} \n  Local   = ${target.view.size}`);
          failed.push(name);
          continue;
        }
        const result = await diffVolume(archive, volume, target.view, out, {
          quick: this.quick,
          allChunks: this.allChunks,
          signal: this.context.signal,
        });
        if (result.differing > 0) failed.push(name);
      } catch (error) {
        if (!(error instanceof IntegrityError || error instanceof VolumeFailure)) throw error;
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

  /** The --local directory, or null (with Wyng's note) when it is missing or not a directory. */
  private async localDirectory(local: string | undefined, out: { warn(text: string): void }): Promise<string | null> {
    if (local === undefined || local === '') {
      out.warn('Local storage is offline: None');
      return null;
    }
    const path = resolve(this.context.cwd, local);
    const stats = await stat(path).catch(() => null);
    if (!stats?.isDirectory()) {
      out.warn(`Local storage is offline: '${path}'`);
      return null;
    }
    return path;
  }
}
