// A session's `info` (spec §9): seven fields in Wyng's order, then up to five tags.

import { itemAt } from '../lookup.js';
import { decodeHash } from './hash.js';
import { formatKeyValueLines, KeyValueSyntaxError, parseKeyValueLines } from './key-value-text.js';
import { isPrintable, isSessionName, isValidDateTime, MAX_TAG_ID_CHARS, MAX_TAGS_PER_SESSION, type SessionName } from './names.js';

/** Wyng's bound on an info file (before the 40-byte envelope). */
export const MAX_INFO_BYTES = 3388;
/** Our bound on an info's decompressed text (from its content, not from Wyng). */
export const MAX_INFO_TEXT = 64 * 1024;
const MAX_VOLUME_BYTES = 2n ** 64n - 1n;

export interface SessionInfo {
  /** Snapshot time: integer nanoseconds as text (legacy archives: YYYYMMDD-HHMMSS). */
  localtime: string;
  previous: SessionName | null;
  permissions: string;
  /** Hm(manifest.z), or null when the session lists no chunks (written as "0"). */
  manifestHash: string | null;
  volsize: number;
  sequence: number;
  /** CRC-32 of the merged manifest at this session; optional in the format. */
  mfcs: number | null;
  /** tag id → description, in file order. */
  tags: Map<string, string>;
}

export class SessionInfoError extends Error {}

function parseVolSize(text: string): number {
  if (!/^[0-9]{1,20}$/.test(text) || BigInt(text) > MAX_VOLUME_BYTES) throw new SessionInfoError(`bad volsize ${text}`);
  const size = Number(text);
  // Sizes above 2^53 are valid V3 but cannot be addressed exactly with JS numbers.
  if (!Number.isSafeInteger(size)) throw new SessionInfoError(`volsize ${text} is larger than Skiff supports (8 PiB)`);
  return size;
}

/** '' | 'r' | 'w' | "<mode>:<user>:<group>" (spec §9). */
export function isValidPermissions(text: string): boolean {
  if (text === '' || text === 'r' || text === 'w') return true;
  const parts = text.split(':');
  return parts.length === 3 && text.length <= 261 && /^[0-9]+$/.test(itemAt(parts, 0)) && isPrintable(text);
}

export function parseSessionInfo(text: string): SessionInfo {
  const fields = new Map<string, string>();
  const tags = new Map<string, string>();
  try {
    for (const [key, value, line] of parseKeyValueLines(text)) {
      if (key === 'tag') {
        const space = value.indexOf(' ');
        const id = (space < 0 ? value : value.slice(0, space)).toLowerCase().slice(0, MAX_TAG_ID_CHARS);
        if (id !== '' && !tags.has(id)) tags.set(id, space < 0 ? '' : value.slice(space + 1).trim());
        continue;
      }
      if (fields.has(key)) throw new SessionInfoError(`line ${line}: ${key} given twice`);
      fields.set(key, value);
    }
  } catch (error) {
    if (error instanceof KeyValueSyntaxError) throw new SessionInfoError(error.message);
    throw error;
  }
  const get = (key: string): string => {
    const value = fields.get(key);
    if (value === undefined) throw new SessionInfoError(`no ${key}`);
    return value;
  };
  const localtime = get('localtime');
  if (!/^[0-9]{1,24}$/.test(localtime) && !isValidDateTime(localtime)) throw new SessionInfoError(`bad localtime ${localtime}`);
  const previousText = get('previous');
  const previous = previousText === 'None' ? null : previousText;
  if (previous !== null && !isSessionName(previous)) throw new SessionInfoError(`bad previous ${previousText}`);
  const permissions = get('permissions');
  if (!isValidPermissions(permissions)) throw new SessionInfoError(`bad permissions ${permissions}`);
  const manifestText = get('manifesthash');
  if (manifestText !== '0' && !decodeHash(manifestText)) throw new SessionInfoError(`bad manifesthash ${manifestText}`);
  const sequenceText = get('sequence');
  if (!/^[0-9]{1,9}$/.test(sequenceText)) throw new SessionInfoError(`bad sequence ${sequenceText}`);
  const mfcsText = fields.get('mfcs');
  if (mfcsText !== undefined && (!/^[0-9]{1,10}$/.test(mfcsText) || Number(mfcsText) > 0xffffffff)) {
    throw new SessionInfoError(`bad mfcs ${mfcsText}`);
  }
  if (tags.size > MAX_TAGS_PER_SESSION) throw new SessionInfoError('more than 5 tags');
  return {
    localtime,
    previous,
    permissions,
    manifestHash: manifestText === '0' ? null : manifestText,
    volsize: parseVolSize(get('volsize')),
    sequence: Number(sequenceText),
    mfcs: mfcsText === undefined ? null : Number(mfcsText),
    tags,
  };
}

export function formatSessionInfo(info: SessionInfo): string {
  const entries: [string, string][] = [
    ['localtime', info.localtime],
    ['previous', info.previous ?? 'None'],
    ['permissions', info.permissions],
    ['manifesthash', info.manifestHash ?? '0'],
    ['volsize', String(info.volsize)],
    ['sequence', String(info.sequence)],
    ['mfcs', String(info.mfcs ?? 0)],
  ];
  for (const [id, desc] of info.tags) entries.push(['tag', `${id} ${desc}`]);
  return formatKeyValueLines(entries);
}

/** The snapshot time in nanoseconds, or null for a legacy date-time localtime. */
export function localtimeNs(info: SessionInfo): bigint | null {
  return /^[0-9]+$/.test(info.localtime) ? BigInt(info.localtime) : null;
}
