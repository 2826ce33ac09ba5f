// --vols-from=FILE (alias --local-from): Wyng's JSON list of volume sets, one per local storage,
// so that one run covers volumes of several pools (behavior spec §9.6). wyng-util-qubes writes
// it: `{"<local spec>": [["<archive volume>", <alias or null>], …], …}`. An alias is the
// volume's local name (send renames the archive volume to it first). After a run in which
// volumes failed, Wyng writes `<FILE>.error` for the caller: `{"rc": 2, "volumes": [names]}`.

import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { errnoOf } from '../../protocol/thrown.js';
import { compareCodePoints } from '../engine/select/volume-index.js';
import { describeError, InputError } from '../errors.js';

export interface VolumeSetEntry {
  /** The volume's name in the archive. */
  name: string;
  /** Its local name, when it differs (null: the same). */
  alias: string | null;
}

export interface VolumeSet {
  /** The --local of these volumes (null where Wyng allows it: commands that need none). */
  local: string | null;
  volumes: VolumeSetEntry[];
}

export interface VolsFrom {
  path: string;
  sets: VolumeSet[];
  /** Lines for stderr (an empty set). */
  notes: string[];
}

const MALFORMED = 'Empty/malformed json file';

/**
 * Reads the file; null when it does not exist (Wyng then uses --local and the named volumes;
 * the caller says so). Wyng's messages for a bad file (SelectionError, exit 9).
 */
export function readVolsFrom(file: string, cwd: string): VolsFrom | null {
  const path = resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return null;
    throw new InputError(`Cannot read --vols-from file '${path}': ${describeError(error)}`);
  }
  let untrusted: unknown;
  try {
    untrusted = JSON.parse(text);
  } catch {
    throw new InputError(MALFORMED);
  }
  if (typeof untrusted !== 'object' || untrusted === null || Array.isArray(untrusted) || Object.keys(untrusted).length === 0)
    throw new InputError(MALFORMED);
  const sets: VolumeSet[] = [];
  const notes: string[] = [];
  const seen = new Set<string>();
  for (const [spec, list] of Object.entries(untrusted)) {
    if (!Array.isArray(list)) throw new InputError(MALFORMED);
    if (list.length === 0) notes.push(`Empty vol list for ${spec}`);
    const volumes: VolumeSetEntry[] = [];
    for (const entry of list) {
      if (!Array.isArray(entry) || entry.length < 1 || entry.length > 2) throw new InputError(MALFORMED);
      const [name, alias] = entry as unknown[];
      if (typeof name !== 'string' || !(alias === undefined || alias === null || typeof alias === 'string'))
        throw new InputError(MALFORMED);
      if (seen.has(name)) throw new InputError(`Duplicate volume name: ${name}`);
      seen.add(name);
      volumes.push({ name, alias: alias === undefined || alias === null || alias === name ? null : alias });
    }
    // Python's json reads the key "null" as a string; Wyng's null local is written as the key null.
    sets.push({ local: spec === 'null' || spec === '' ? null : spec, volumes });
  }
  return { path, sets, notes };
}

/**
 * --vols-from as a command starts: the file read (null when not given, or absent: then the
 * command goes on with --local and the volumes named, and says so), its notes and the note that
 * volume names on the command line that the file does not list are not used written to `stderr`.
 */
export function loadVolsFrom(
  file: string | undefined,
  cwd: string,
  named: readonly string[],
  stderr: { write(text: string): unknown },
): VolsFrom | null {
  if (file === undefined) return null;
  const volsFrom = readVolsFrom(file, cwd);
  if (!volsFrom) {
    stderr.write(`--vols-from file '${file}' not found: using --local and the volumes named.\n`);
    return null;
  }
  for (const note of volsFrom.notes) stderr.write(`${note}\n`);
  // Only the names the file does not list are left out: wyng-util-qubes names its set on the
  // command line again, and saying those are ignored would be noise on every run.
  const listed = new Set(setVolumeNames(volsFrom));
  const ignored = named.filter((name) => !listed.has(name));
  if (ignored.length > 0)
    stderr.write(`Volume names on the command line are ignored with --vols-from (as in Wyng): ${ignored.join(' ')}\n`);
  return volsFrom;
}

/** The archive names of every volume of every set. */
export function setVolumeNames(volsFrom: VolsFrom): string[] {
  return volsFrom.sets.flatMap((set) => set.volumes.map((v) => v.name));
}

/** The `.error` file Wyng leaves beside the JSON file when volumes failed: Python's json.dump. */
export function errorFileText(volumes: readonly string[]): string {
  const names = [...new Set(volumes)].sort(compareCodePoints).map(pythonJsonString);
  return `{"rc": 2, "volumes": [${names.join(', ')}]}`;
}

export function writeErrorFile(volsFrom: VolsFrom, volumes: readonly string[]): void {
  writeFileSync(`${volsFrom.path}.error`, errorFileText(volumes));
}

/** A string as Python's json.dumps writes it (ensure_ascii): non-ASCII as \uXXXX. */
function pythonJsonString(text: string): string {
  return JSON.stringify(text).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
