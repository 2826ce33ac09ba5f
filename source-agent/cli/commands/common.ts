// Checks and helpers several commands share.

import type { Archive, Volume } from '../../archive/archive.js';
import type { Output } from '../../engine/output.js';
import { chooseSession, type SessionChoice, type SessionSpec } from '../../engine/select/session-select.js';
import { type SelectionRequest, selectExisting, type VolumeIndex } from '../../engine/select/volume-index.js';
import { InputError } from '../../errors.js';
import { valueFor } from '../../lookup.js';

/** Wyng: "Volume name(s) or --all required for <cmd>." */
export function requireVolumes(volumes: readonly string[], all: boolean, command: string): void {
  if (volumes.length === 0 && !all) throw new InputError(`Volume name(s) or --all required for ${command}.`);
}

/** --session for commands that work on one session: no ranges. */
export function singleSession(text: string | undefined, command: string): string | undefined {
  if (text?.includes(',')) throw new InputError(`Specify only one session for ${command}.`);
  return text;
}

export function parseStrict(text: string): boolean {
  if (text !== 'on' && text !== 'off') throw new InputError(`--session-strict must be 'on' or 'off', not '${text}'.`);
  return text === 'on';
}

/** Reports volumes whose volinfo failed its checks; returns their ids for the error list. */
export function reportUnreadable(index: VolumeIndex, out: Output): string[] {
  for (const error of index.unreadable.values()) out.warn(`Error: ${error.message}`);
  return [...index.unreadable.keys()];
}

/**
 * Wyng's selection for every command but add, delete, rename, send and arch-check (§1.2 step 14):
 * a name the archive lacks is skipped, with a line.
 */
export function selectOrSkip(index: VolumeIndex, request: SelectionRequest, out: Output): string[] {
  const { names, missing } = selectExisting(index, request);
  for (const name of missing) out.line(`Volume '${name}' not found; Skipping.`);
  return names;
}

/**
 * The session a one-session command (receive, verify) works on, with Wyng's lines: a volume
 * without sessions is passed over ("nothing to <verb>"), a session that does not match goes on the
 * error list (returned as 'failed'), a --session-strict=off match prints its note.
 */
export async function volumeSession(
  archive: Archive,
  index: VolumeIndex,
  name: string,
  request: { spec: SessionSpec; strict: boolean; verb: string },
  out: Output,
): Promise<{ volume: Volume; choice: SessionChoice } | 'none' | 'failed'> {
  const volume = await archive.loadVolume(valueFor(index.byName, name));
  if (volume.sessions.length === 0) {
    out.line(`\nVolume '${name}' has no sessions; nothing to ${request.verb}.`);
    return 'none';
  }
  const choice = chooseSession(volume, request.spec, request.strict);
  if (typeof choice === 'string') {
    out.warn(choice);
    return 'failed';
  }
  if (choice.note) out.line(choice.note);
  return { volume, choice };
}
