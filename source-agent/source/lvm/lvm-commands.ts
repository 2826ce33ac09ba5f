// The LVM and device-mapper commands Skiff runs, and the parsing of what they print. Every call
// goes through sys/exec.ts with the tools found on PATH up front (findLvmTools), so tests can put
// the thin-pool model's stand-ins first on PATH and a missing tool is one clear error.
//
// `lvs` is read with --noheadings --separator=::: --units=b --nosuffix and a fixed field list,
// lv_tags last: LV and VG names cannot hold ':' but tags can, so the tags field takes the rest of
// the line. Every line starts with two spaces, which LVM prints even with --separator.

import { describeError, LocalStorageError } from '../../errors.js';
import { ExternalCommandError, execFileCapture, execFileStreaming, findOnPath } from '../../sys/exec.js';

export interface LvmTools {
  lvm: string;
  dmsetup: string;
  thinDelta: string;
  env: NodeJS.ProcessEnv;
  /** How long one lvm or dmsetup command may run before it is killed and fails (default LVM_COMMAND_DEADLINE_MS). */
  deadlineMs?: number;
}

/**
 * One lvm/dmsetup command past this is taken as hung (a suspended device, a lock held elsewhere):
 * killed, and a clear error instead of a wait for ever. Far above what any of them takes when well.
 */
export const LVM_COMMAND_DEADLINE_MS = 10 * 60 * 1000;

/** One `lvs` row. */
export interface LvRow {
  name: string;
  vg: string;
  /** lv_attr: [0] type (t pool, V thin), [1] permission (w/r), [4] state (a active). */
  attr: string;
  size: number;
  /**
   * lv_time in seconds (LVM prints whole seconds); null when lvs printed none Skiff can read (an
   * LV made by an LVM too old to record it, or report/time_format changed in lvm.conf). Read it
   * through lvTimeOf(), which says so instead of going on with no time.
   */
  time: number | null;
  /** lv_time as lvs printed it (for the message when it cannot be read). */
  timeText: string;
  /** The thin pool of a thin volume, else "". */
  pool: string;
  /** dm-thin device id of a thin volume, else null. */
  thinId: number | null;
  tags: string[];
}

const SEPARATOR = ':::';
const LVS_FIELDS = ['lv_name', 'vg_name', 'lv_attr', 'lv_size', 'lv_time', 'pool_lv', 'thin_id', 'lv_tags'];

/** LV and VG names as LVM allows them (no leading '-'). */
export const LVM_NAME = /^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$/;

/**
 * Refuses a VG or LV name LVM would not accept before it reaches an lvm command line, where one
 * starting with '-' would be read as an option.
 */
export function checkLvmNames(...names: readonly string[]): void {
  for (const name of names)
    if (!LVM_NAME.test(name)) throw new LocalStorageError(`Not a valid LVM volume name: ${JSON.stringify(name.slice(0, 200))}`);
}

/** Finds `name` on PATH or fails with "Required command not found: <name>". */
export async function requireTool(name: string, env: NodeJS.ProcessEnv): Promise<string> {
  const path = await findOnPath(name, env);
  if (!path) throw new LocalStorageError(`Required command not found: ${name}`);
  return path;
}

/** The oldest thin_delta whose output Skiff (and Wyng) can read. */
export const MIN_THIN_DELTA_VERSION: readonly [number, number, number] = [0, 7, 4];

/**
 * The version `thin_delta -V` prints ("0.9.0"; also accepted inside a longer line), or null.
 * Compared part by part as numbers: Wyng compares the strings, so it would take 0.10.0 for older
 * than 0.7.4 (a Wyng bug we do not copy).
 */
export function parseThinDeltaVersion(text: string): [number, number, number] | null {
  const m = /(?:^|[^\d.])(\d{1,6})\.(\d{1,6})\.(\d{1,6})(?![\d])/.exec(text.split('\n')[0] ?? '');
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

export function versionAtLeast(version: readonly number[], minimum: readonly number[]): boolean {
  for (const [i, part] of minimum.entries()) {
    const have = version[i] ?? 0;
    if (have !== part) return have > part;
  }
  return true;
}

/** Refuses a thin_delta older than MIN_THIN_DELTA_VERSION (its XML is not what we parse). */
async function checkThinDeltaVersion(thinDelta: string, env: NodeJS.ProcessEnv): Promise<void> {
  let out: string;
  try {
    out = (await execFileCapture([thinDelta, '-V'], { env, deadlineMs: LVM_COMMAND_DEADLINE_MS })).stdout.toString('utf8');
  } catch (error) {
    throw new LocalStorageError(`thin_delta -V failed: ${lastLine(error)}`);
  }
  const version = parseThinDeltaVersion(out);
  const minimum = MIN_THIN_DELTA_VERSION.join('.');
  if (!version) throw new LocalStorageError(`Unexpected 'thin_delta -V' output: ${JSON.stringify(out.trim().slice(0, 100))}`);
  if (!versionAtLeast(version, MIN_THIN_DELTA_VERSION))
    throw new LocalStorageError(`thin_delta ${version.join('.')} is too old: thin-provisioning-tools ${minimum} or newer is needed.`);
}

/** lvm, dmsetup and thin_delta (and thin_delta's version), checked before anything is done to a pool. */
export async function findLvmTools(env: NodeJS.ProcessEnv): Promise<LvmTools> {
  const lvm = await requireTool('lvm', env);
  const dmsetup = await requireTool('dmsetup', env);
  const thinDelta = await requireTool('thin_delta', env);
  await checkThinDeltaVersion(thinDelta, env);
  return { lvm, dmsetup, thinDelta, env };
}

/** Device-mapper's name for an LV: VG and LV joined by '-', each '-' inside them doubled. */
export function dmName(vg: string, lv: string, suffix = ''): string {
  return `${vg.replaceAll('-', '--')}-${lv.replaceAll('-', '--')}${suffix}`;
}

/** "2026-12-04 22:57:57 +0100" (LVM's default report/time_format) → Unix seconds; null when it is not that shape. */
export function parseLvTime(text: string): number | null {
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$/.exec(text.trim());
  if (!m) return null;
  const n = m.slice(1).map((v) => Number(v));
  const [y, mo, d, h, mi, s] = n as [number, number, number, number, number, number];
  const offset = (m[7] === '-' ? -1 : 1) * ((n[7] ?? 0) * 60 + (n[8] ?? 0)) * 60;
  return Date.UTC(y, mo - 1, d, h, mi, s) / 1000 - offset;
}

/** Parses `lvs` output made with lvsArgs(); throws on a row of another shape. */
export function parseLvs(text: string): LvRow[] {
  const rows: LvRow[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const cells = line.split(SEPARATOR);
    if (cells.length < LVS_FIELDS.length) throw new LocalStorageError(`Unexpected 'lvm lvs' output: ${JSON.stringify(line.slice(0, 200))}`);
    const [name, vg, attr, size, time, pool, thinId] = cells as [string, string, string, string, string, string, string];
    const tags = cells.slice(LVS_FIELDS.length - 1).join(SEPARATOR);
    const row: LvRow = {
      name,
      vg,
      attr,
      size: Number(size),
      time: parseLvTime(time),
      timeText: time,
      pool,
      thinId: thinId === '' ? null : Number(thinId),
      tags: tags === '' ? [] : tags.split(','),
    };
    if (!LVM_NAME.test(name) || !LVM_NAME.test(vg) || !/^[-a-zA-Z]{10}$/.test(attr) || !Number.isSafeInteger(row.size) || row.size < 0)
      throw new LocalStorageError(`Unexpected 'lvm lvs' output: ${JSON.stringify(line.slice(0, 200))}`);
    if (row.thinId !== null && !Number.isSafeInteger(row.thinId))
      throw new LocalStorageError(`Unexpected thin_id in 'lvm lvs' output: ${JSON.stringify(thinId)}`);
    rows.push(row);
  }
  return rows;
}

/**
 * The LV's creation time in seconds: the pairing token of a Skiff snapshot, so a time that cannot
 * be read stops the run (exit 7) rather than pairing on a made-up one. Wyng reads the same field
 * the same way (and stops with a ValueError traceback).
 */
export function lvTimeOf(row: LvRow): number {
  if (row.time !== null) return row.time;
  throw new LocalStorageError(
    `Cannot read the creation time of LV '${row.vg}/${row.name}' in 'lvm lvs' (lv_time ${JSON.stringify(row.timeText.slice(0, 100))}): ` +
      `Skiff reads LVM's default report/time_format "%Y-%m-%d %T %z"; check /etc/lvm/lvm.conf.`,
  );
}

/** What a failed command said, as one line. */
function lastLine(error: unknown): string {
  if (error instanceof ExternalCommandError && error.said() !== '') return error.said();
  return describeError(error);
}

/**
 * The commands on one machine's LVM, through the tools found by findLvmTools.
 *
 * `lvs VG` is read once and kept until a command through this object (or forget()) changes
 * something: Wyng reads every volume with one `lvs`, and a run of one send prepares all its
 * volumes in a row, so asking LVM again per volume would only repeat the same answer (each `lvm`
 * start costs tens of milliseconds on a real system).
 */
export class Lvm {
  readonly tools: LvmTools;
  private readonly rowsByVg = new Map<string, LvRow[]>();

  constructor(tools: LvmTools) {
    this.tools = tools;
  }

  /** The deadline of each lvm/dmsetup command (see LVM_COMMAND_DEADLINE_MS). */
  get deadlineMs(): number {
    return this.tools.deadlineMs ?? LVM_COMMAND_DEADLINE_MS;
  }

  /** Drops what `lvs` said (call after changing LVs without this object). */
  forget(): void {
    this.rowsByVg.clear();
  }

  private async run(argv: readonly string[], what: string): Promise<string> {
    // Anything but a report may change LVs: the next lvs asks LVM again.
    if (argv[0] === this.tools.lvm && argv[1] !== 'lvs' && argv[1] !== 'vgs' && argv[1] !== 'vgdisplay') this.forget();
    try {
      return (
        await execFileCapture(argv, { env: this.tools.env, maxOutput: 64 * 1024 * 1024, deadlineMs: this.deadlineMs })
      ).stdout.toString('utf8');
    } catch (error) {
      throw new LocalStorageError(`${what} failed: ${lastLine(error)}`);
    }
  }

  private lvmCommand(args: readonly string[], what: string): Promise<string> {
    return this.run([this.tools.lvm, ...args], what);
  }

  /** Whether `lvm vgdisplay VG` knows the volume group. */
  async vgExists(vg: string): Promise<boolean> {
    if (!LVM_NAME.test(vg)) return false;
    return execFileCapture([this.tools.lvm, 'vgdisplay', vg], { env: this.tools.env, deadlineMs: this.deadlineMs }).then(
      () => true,
      () => false,
    );
  }

  /** `lvm lvs` for a VG, or "VG/LV" selectors; an unknown VG or LV is an error. One VG's rows are kept (see the class). */
  async lvs(selectors: readonly string[]): Promise<LvRow[]> {
    const vg = selectors.length === 1 && LVM_NAME.test(selectors[0] ?? '') ? selectors[0] : undefined;
    const kept = vg === undefined ? undefined : this.rowsByVg.get(vg);
    if (kept) return kept;
    const rows = await this.lvsFromLvm(selectors);
    if (vg !== undefined) this.rowsByVg.set(vg, rows);
    return rows;
  }

  private async lvsFromLvm(selectors: readonly string[]): Promise<LvRow[]> {
    const out = await this.lvmCommand(
      ['lvs', '--noheadings', `--separator=${SEPARATOR}`, '--units=b', '--nosuffix', `--options=${LVS_FIELDS.join(',')}`, ...selectors],
      `lvm lvs ${selectors.join(' ')}`,
    );
    return parseLvs(out);
  }

  /** One LV, or null when the VG has no LV of that name. */
  async lv(vg: string, name: string): Promise<LvRow | null> {
    return (await this.lvs([vg])).find((row) => row.name === name) ?? null;
  }

  /** A read-only, active thin snapshot of VG/origin named `name` (as Wyng: -kn -ay -pr). */
  async createSnapshot(vg: string, origin: string, name: string, tags: readonly string[]): Promise<void> {
    checkLvmNames(vg, origin, name);
    await this.lvmCommand(
      ['lvcreate', '-kn', '-ay', '-pr', ...tags.map((t) => `--addtag=${t}`), '-s', `${vg}/${origin}`, '-n', name],
      `Snapshot of ${vg}/${origin}`,
    );
  }

  async rename(vg: string, from: string, to: string): Promise<void> {
    checkLvmNames(vg, from, to);
    await this.lvmCommand(['lvrename', `${vg}/${from}`, to], `Renaming ${vg}/${from} to ${to}`);
  }

  async changeTags(vg: string, lv: string, add: readonly string[], remove: readonly string[] = []): Promise<void> {
    if (add.length === 0 && remove.length === 0) return;
    await this.lvmCommand(
      ['lvchange', ...remove.map((t) => `--deltag=${t}`), ...add.map((t) => `--addtag=${t}`), `${vg}/${lv}`],
      `Tagging ${vg}/${lv}`,
    );
  }

  /** lvchange -p r|rw; asking for the mode it already has is not an error. */
  async setPermission(vg: string, lv: string, mode: 'r' | 'rw'): Promise<void> {
    const row = await this.lv(vg, lv);
    if (row && (row.attr[1] === 'w') === (mode === 'rw')) return;
    await this.lvmCommand(['lvchange', '-p', mode, `${vg}/${lv}`], `Changing permission of ${vg}/${lv}`);
  }

  /** Removes an LV; one that refuses (read-only, as some LVM versions do) is made writable and removed again, as Wyng does. */
  async removeLv(vg: string, lv: string): Promise<void> {
    const argv = ['lvremove', '-f', `${vg}/${lv}`];
    try {
      await this.lvmCommand(argv, `Removing ${vg}/${lv}`);
    } catch (error) {
      const row = await this.lv(vg, lv);
      if (!row) return;
      if (row.attr[1] === 'w') throw error;
      await this.setPermission(vg, lv, 'rw');
      await this.lvmCommand(argv, `Removing ${vg}/${lv}`);
    }
  }

  private dmMessage(vg: string, pool: string, message: string): Promise<string> {
    return this.run([this.tools.dmsetup, 'message', dmName(vg, pool, '-tpool'), '0', message], `dmsetup message ${message}`);
  }

  reserveMetadataSnap(vg: string, pool: string): Promise<string> {
    return this.dmMessage(vg, pool, 'reserve_metadata_snap');
  }

  releaseMetadataSnap(vg: string, pool: string): Promise<string> {
    return this.dmMessage(vg, pool, 'release_metadata_snap');
  }

  /** Whether the pool holds a metadata snapshot now (`dmsetup status`: the held root is not '-'). */
  async metadataSnapHeld(vg: string, pool: string): Promise<boolean> {
    const out = await this.run([this.tools.dmsetup, 'status', dmName(vg, pool, '-tpool')], 'dmsetup status');
    const words = out.trim().split(/\s+/);
    const at = words.indexOf('thin-pool');
    // thin-pool <transaction> <used/total metadata> <used/total data> <held root|->
    const held = at < 0 ? undefined : words[at + 4];
    if (held === undefined) throw new LocalStorageError(`Unexpected 'dmsetup status' output: ${JSON.stringify(out.slice(0, 200))}`);
    return held !== '-';
  }

  /** The pool's metadata device, thin_delta's input. */
  metadataDevice(vg: string, pool: string): string {
    return `/dev/mapper/${dmName(vg, pool, '_tmeta')}`;
  }

  /** Runs thin_delta on the reserved metadata snapshot, handing its XML to `onText` as it comes. */
  async thinDelta(
    vg: string,
    pool: string,
    thin1: number,
    thin2: number,
    options: { onText: (text: string) => void; deadlineMs: number; signal?: AbortSignal },
  ): Promise<void> {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const argv = [
      this.tools.thinDelta,
      '--metadata-snap',
      '--thin1',
      String(thin1),
      '--thin2',
      String(thin2),
      this.metadataDevice(vg, pool),
    ];
    try {
      await execFileStreaming(argv, {
        env: this.tools.env,
        onStdout: (chunk) => options.onText(decoder.decode(chunk, { stream: true })),
        deadlineMs: options.deadlineMs,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      options.onText(decoder.decode());
    } catch (error) {
      if (error instanceof ExternalCommandError) throw new LocalStorageError(`ERROR running thin_delta process: ${lastLine(error)}`);
      if (error instanceof TypeError) throw new LocalStorageError('ERROR running thin_delta process: its output is not UTF-8');
      throw error;
    }
  }
}
