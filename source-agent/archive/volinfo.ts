// volinfo (spec §7): a volume's name, description and the metadata hash of each session's info.
// Line order carries no meaning; `sequence` in each info orders the sessions.

import { decodeHash } from './hash.js';
import { formatKeyValueLines, KeyValueSyntaxError, parseKeyValueLines } from './key-value-text.js';
import { isPrintable, isSessionName, type SessionName, volumeNameProblem } from './names.js';

/** Wyng's bound on a volinfo file (before the 40-byte envelope). */
export const MAX_VOLINFO_BYTES = 1_179_674;
/** Our bound on a volinfo's decompressed text (from its content, not from Wyng). */
export const MAX_VOLINFO_TEXT = 4 * 1024 * 1024;
export const MAX_SESSIONS_PER_VOLUME = 16_384;
export const MAX_DESCRIPTION_CHARS = 100;

export interface VolInfo {
  name: string;
  desc: string;
  /** session name → Hm(info), in file order. */
  sessions: Map<SessionName, string>;
}

export class VolInfoError extends Error {}

export function parseVolInfo(text: string): VolInfo {
  let name: string | undefined;
  let desc = '';
  const sessions = new Map<SessionName, string>();
  try {
    for (const [key, value, line] of parseKeyValueLines(text)) {
      if (key === 'name') {
        if (name !== undefined) throw new VolInfoError(`line ${line}: second name`);
        name = value;
      } else if (key === 'desc') {
        desc = value;
      } else if (key.startsWith('S_')) {
        if (!isSessionName(key)) throw new VolInfoError(`line ${line}: bad session name ${key}`);
        if (sessions.has(key)) throw new VolInfoError(`line ${line}: session ${key} listed twice`);
        if (!decodeHash(value)) throw new VolInfoError(`line ${line}: bad hash for ${key}`);
        sessions.set(key, value);
      }
      // Other keys are ignored, as Wyng does.
    }
  } catch (error) {
    if (error instanceof KeyValueSyntaxError) throw new VolInfoError(error.message);
    throw error;
  }
  if (name === undefined) throw new VolInfoError('no volume name');
  const problem = volumeNameProblem(name);
  if (problem) throw new VolInfoError(`volume name ${JSON.stringify(name)}: ${problem}`);
  if (!isPrintable(desc) || [...desc].length > MAX_DESCRIPTION_CHARS) throw new VolInfoError('bad description');
  if (sessions.size > MAX_SESSIONS_PER_VOLUME) throw new VolInfoError('too many sessions');
  return { name, desc, sessions };
}

export function formatVolInfo(info: VolInfo): string {
  return formatKeyValueLines([['name', info.name], ['desc', info.desc], ...info.sessions]);
}
