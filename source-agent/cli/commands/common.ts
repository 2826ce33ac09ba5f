// Checks and helpers several commands share.

import type { Output } from '../../engine/output.js';
import { type SelectionRequest, selectExisting, type VolumeIndex } from '../../engine/select/volume-index.js';
import { InputError } from '../../errors.js';

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

/** Wyng's selection for list, verify, diff and prune: a name the archive lacks is skipped, with a line. */
export function selectOrSkip(index: VolumeIndex, request: SelectionRequest, out: Output): string[] {
  const { names, missing } = selectExisting(index, request);
  for (const name of missing) out.line(`Volume '${name}' not found; Skipping.`);
  return names;
}
