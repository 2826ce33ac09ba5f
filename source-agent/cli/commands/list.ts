import { Command, Option } from 'clipanion';
import { inert } from '../../../protocol/inert-text.js';
import type { Archive, SessionRecord, Volume } from '../../archive/archive.js';
import { describeCipher } from '../../archive/crypto/cipher-modes.js';
import { sessionLabel } from '../../archive/names.js';
import { localtimeNs } from '../../archive/session-info.js';
import type { Output } from '../../engine/output.js';
import { parseSessionSpec, type SessionSpec } from '../../engine/select/session-select.js';
import { buildVolumeIndex, compareCodePoints, type VolumeIndex } from '../../engine/select/volume-index.js';
import { IntegrityError, VolumeErrors } from '../../errors.js';
import { valueFor } from '../../lookup.js';
import { terminalColumns } from '../../sys/terminal.js';
import { VERSION, WYNG_COMPAT } from '../../version.js';
import { pythonJson, pythonRepr } from '../format.js';
import { allOption, sessionOption, volexOption, volumesRest } from '../options.js';
import { SkiffCommand } from '../skiff-command.js';
import { reportUnreadable, selectOrSkip, singleSession } from './common.js';

export class ListCommand extends SkiffCommand {
  static override paths = [['list']];
  static override operands = '[VOLUME...]';
  static override usage = Command.Usage({
    description: 'List the volumes of the archive, or the sessions of volumes.',
    details: `
      Without volume names: the volumes (with --verbose, also the archive's properties and each
      volume's size, id, newest session and session count). With names or --all: the sessions of
      those volumes. --tag lists tag assignments; --json prints everything as one JSON object.
    `,
    examples: [
      ['List the volumes', 'skiff --dest=file:/mnt/backup list'],
      ['List the sessions of a volume, with sizes and tags', 'skiff --dest=file:/mnt/backup list work.img --verbose'],
    ],
  });

  all = allOption();
  volex = volexOption();
  session = sessionOption('Only volumes (or sessions) with this session: YYYYMMDD-HHMMSS or ^tag');
  json = Option.Boolean('--json', false, { description: 'Print the archive as JSON (after the header lines)' });
  tag = Option.Array('--tag', { description: 'List tag assignments (any value, even --tag=)' });
  volumes = volumesRest();

  private failed: string[] = [];

  async run(): Promise<number> {
    const spec = this.session === undefined ? null : parseSessionSpec(singleSession(this.session, 'list'));
    const out = this.output(false);
    this.banner(out);
    const { archive } = await this.openArchive(out);
    const index = await buildVolumeIndex(archive);
    this.failed = reportUnreadable(index, out);
    if (this.json) {
      out.line();
      out.write(pythonJson(await this.jsonView(archive, index)));
    } else if (this.tag !== undefined) {
      const names = this.volumes.length > 0 || this.all ? this.selected(index, out) : [...index.byName.keys()];
      await this.listTags(archive, index, names, out);
    } else if (this.volumes.length > 0 || this.all) {
      await this.listSessions(archive, index, this.selected(index, out), spec, out);
    } else {
      await this.listVolumes(archive, index, spec, out);
    }
    if (this.failed.length > 0) throw new VolumeErrors(this.failed);
    return 0;
  }

  private selected(index: VolumeIndex, out: Output): string[] {
    return selectOrSkip(index, { names: this.volumes, all: this.all, exclude: this.volex }, out);
  }

  /** Loads volumes by name; one that fails its checks is reported and left out. */
  private async load(archive: Archive, index: VolumeIndex, names: readonly string[], out: Output): Promise<Volume[]> {
    const volumes: Volume[] = [];
    for (const name of names) {
      try {
        volumes.push(await archive.loadVolume(valueFor(index.byName, name)));
      } catch (error) {
        if (!(error instanceof IntegrityError)) throw error;
        out.warn(`Error: ${error.message}`);
        this.failed.push(name);
      }
    }
    return volumes;
  }

  private async listVolumes(archive: Archive, index: VolumeIndex, spec: SessionSpec | null, out: Output): Promise<void> {
    const names = [...index.byName.keys()].sort(compareCodePoints);
    const needSessions = this.verbose > 0 || spec !== null;
    let volumes = needSessions ? await this.load(archive, index, names, out) : [];
    if (spec) volumes = volumes.filter((v) => matchingSessions(v, spec).length > 0);
    if (this.verbose > 0) printProperties(archive, out);
    const shown = needSessions ? volumes.map((v) => v.name) : names;
    if (shown.length === 0) {
      out.line('\nNo volumes.');
      return;
    }
    out.line('\nVolumes:');
    if (this.verbose === 0) {
      for (const name of shown) out.line(` ${name}`);
      return;
    }
    const width = Math.max(...volumes.map((v) => v.name.length)) + 2;
    for (const volume of volumes) {
      const last = volume.sessions.at(-1);
      const gib = ((last?.info.volsize ?? 0) / 2 ** 30).toFixed(2).padStart(7);
      const count = String(volume.sessions.length).padStart(3);
      const desc = volume.desc ? `  desc: ${volume.desc}` : '';
      out.line(`${gib} GB  ${volume.vid}  ${volume.name.padEnd(width)}  ${last ? sessionLabel(last.name) : ' '} (${count})${desc}`);
    }
  }

  private async listSessions(
    archive: Archive,
    index: VolumeIndex,
    names: readonly string[],
    spec: SessionSpec | null,
    out: Output,
  ): Promise<void> {
    if (this.verbose > 0) printProperties(archive, out);
    for (const volume of await this.load(archive, index, names, out)) {
      out.line(`\nSessions for volume '${volume.name}':`);
      out.line();
      const sessions = spec ? matchingSessions(volume, spec) : volume.sessions;
      if (sessions.length === 0) {
        out.line('None.');
        continue;
      }
      if (this.attended && this.verbose === 0) {
        printSessionGrid(sessions, out, columnsOf(this.context.stdout));
        continue;
      }
      for (const session of sessions) {
        const size = this.verbose > 0 ? `(${session.info.volsize} bytes)` : '';
        out.line(`${sessionLabel(session.name)} ${size} ${changed(volume, session) ? 'Chg' : ''}`);
        if (this.verbose > 0) {
          for (const [id, desc] of [...session.info.tags].sort(([a], [b]) => compareCodePoints(a, b))) {
            // Tags are not checked for controls when read (Wyng does not either): shown inert.
            out.line(desc ? ` tag: ${inert(id)}, ${inert(desc)}` : ` tag: ${inert(id)}`);
          }
        }
      }
      out.line('  ');
    }
  }

  private async listTags(archive: Archive, index: VolumeIndex, names: readonly string[], out: Output): Promise<void> {
    const byTag = new Map<string, string[]>();
    for (const volume of await this.load(archive, index, names, out)) {
      for (const session of volume.sessions) {
        for (const [id, desc] of session.info.tags) {
          const line = `(${pythonRepr(volume.name)}, ${pythonRepr(sessionLabel(session.name))}, ${pythonRepr(desc)})`;
          byTag.set(id, [...(byTag.get(id) ?? []), line]);
        }
      }
    }
    out.line('\nTag Assignments');
    for (const [id, lines] of [...byTag].sort(([a], [b]) => compareCodePoints(a, b))) {
      out.line();
      out.line(`${inert(id)}:`);
      for (const line of lines.sort(compareCodePoints)) out.line(`  ${line}`);
    }
  }

  /** The `list --json` object (behavior spec §7.4), with Skiff's version added. */
  private async jsonView(archive: Archive, index: VolumeIndex): Promise<Map<string, unknown>> {
    const names = [...archive.ini.volumes.keys()].flatMap((vid) => [...index.byName].filter(([, v]) => v === vid).map(([name]) => name));
    const volumes = new Map<string, unknown>();
    for (const volume of await this.load(archive, index, names, this.output(false))) {
      const sessions = new Map<string, unknown>();
      for (const session of volume.sessions) {
        sessions.set(
          session.name,
          new Map<string, unknown>([
            ['volsize', session.info.volsize],
            ['sequence', session.info.sequence],
            ['ts', localtimeNs(session.info)],
            ['chg', changed(volume, session)],
            ['tags', session.info.tags],
          ]),
        );
      }
      const last = volume.sessions.at(-1);
      volumes.set(
        volume.name,
        new Map<string, unknown>([
          ['vid', volume.vid],
          ['desc', volume.desc],
          ['last', last ? last.name : 'None'],
          ['ts', last ? localtimeNs(last.info) : null],
          ['sessions', sessions],
        ]),
      );
    }
    return new Map<string, unknown>([
      ['wversion', WYNG_COMPAT.version],
      ['fver', 3],
      ['wdate', WYNG_COMPAT.date],
      ['skiff', VERSION],
      ['uuid', archive.ini.uuid],
      ['updated_at', archive.ini.updatedAt],
      ['encrypted', archive.encrypted],
      ['is_auth', archive.encrypted],
      ['url', archive.store.url],
      ['volumes', volumes],
    ]);
  }
}

/** "Chg": the session stored data, or is the first, or changed size or permissions. */
function changed(volume: Volume, session: SessionRecord): boolean {
  const i = volume.sessions.indexOf(session);
  const before = volume.sessions[i - 1];
  return (
    session.info.manifestHash !== null ||
    !before ||
    before.info.volsize !== session.info.volsize ||
    before.info.permissions !== session.info.permissions
  );
}

function matchingSessions(volume: Volume, spec: SessionSpec): SessionRecord[] {
  if (spec.kind === 'tag') return volume.sessions.filter((s) => s.info.tags.has(spec.tag));
  if (spec.kind === 'time') return volume.sessions.filter((s) => s.name === spec.name);
  return volume.sessions.slice(-1);
}

function printProperties(archive: Archive, out: Output): void {
  out.line('\nArchive Properties:');
  const mode = archive.ini.mode;
  for (const [key, value] of archive.ini.varEntries) {
    if (key === 'ci_mode') out.line(` ${'cipher'.padEnd(15)} = ${mode.encrypted ? describeCipher(mode) : 'off '}`);
    out.line(` ${inert(key).padEnd(15)} = ${inert(value)}`);
  }
}

function columnsOf(stdout: NodeJS.WritableStream): number {
  return terminalColumns(stdout) ?? 80;
}

/** Wyng's attended session list: per month, a column-major grid of session names. */
function printSessionGrid(sessions: readonly SessionRecord[], out: Output, columns: number): void {
  const months = new Map<string, string[]>();
  for (const s of sessions) {
    const label = sessionLabel(s.name);
    months.set(label.slice(0, 6), [...(months.get(label.slice(0, 6)) ?? []), label]);
  }
  for (const labels of months.values()) {
    let cols = Math.max(4, Math.min(10, Math.floor(columns / 17)));
    let rows = Math.ceil(labels.length / cols);
    const remainder = labels.length % cols;
    if (rows < 3 && remainder > 0 && cols - remainder > 1) {
      cols -= Math.floor((cols - remainder) / 2);
      rows = Math.ceil(labels.length / cols);
    }
    for (let r = 0; r < rows; r++) {
      const row: string[] = [];
      for (let c = 0; c < cols; c++) {
        const label = labels[c * rows + r];
        if (label !== undefined) row.push(label);
      }
      out.line(` ${row.join('  ')}`);
    }
    out.line();
  }
}
