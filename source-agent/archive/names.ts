// Identifiers of the V3 format and the rules they follow (spec §2, §16): volume ids, session
// names, volume names, tags and chunk addresses (layout.ts builds the archive paths from them).
// Every name that comes from the destination passes through one of these checks before it is
// used to build a path.

import { randomBytes } from 'node:crypto';

export type VolumeId = string & { readonly __brand: 'VolumeId' };
export type SessionName = string & { readonly __brand: 'SessionName' };

const VOLUME_ID = /^Vol_[0-9a-fA-F]+$/;
const SESSION_NAME = /^S_[0-9]{8}-[0-9]{6}$/;

export function isVolumeId(text: string): text is VolumeId {
  return VOLUME_ID.test(text) && text.length <= 64;
}

/** A fresh random vid as Wyng makes one (Vol_ and 3 random bytes in hex), to check with isVolumeId. */
export function randomVolumeIdText(): string {
  return `Vol_${randomBytes(3).toString('hex')}`;
}

export function isSessionName(text: string): text is SessionName {
  return SESSION_NAME.test(text) && isValidDateTime(text.slice(2));
}

/** `text` as a session name, which it is known to be (built from a checked date and time). */
export function sessionName(text: string): SessionName {
  if (!isSessionName(text)) throw new RangeError(`not a session name: ${text}`);
  return text;
}

/** `YYYYMMDD-HHMMSS` with a real calendar date and time of day. */
export function isValidDateTime(text: string): boolean {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (!m) return false;
  const field = (group: number) => Number(m[group]);
  const [year, month, day, hour, minute, second] = [field(1), field(2), field(3), field(4), field(5), field(6)];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** The user-facing form of a session name drops the `S_`. */
export function sessionLabel(name: SessionName): string {
  return name.slice(2);
}

// Python's str.isprintable(): no control, format, surrogate, private-use, unassigned or
// separator characters, except the ASCII space.
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]|(?! )\p{Zs}/u;

export function isPrintable(text: string): boolean {
  return !NON_PRINTABLE.test(text);
}

/** Returns why a volume name is invalid, or null if it is valid. */
export function volumeNameProblem(name: string): string | null {
  if (name.length < 1 || name.length > 4000) return 'Volume path/name length must be 1 - 4000.';
  if (!isPrintable(name)) return 'Non-printable characters not allowed in volume names.';
  if (name.startsWith('/') || name.split('/').some((part) => part === '.' || part === '..')) {
    return 'Bad volume name.';
  }
  // key = value lines are stripped when read, so such a name would not survive a round trip.
  if (name.trim() !== name) return 'Volume names cannot begin or end with spaces.';
  return null;
}

const METADATA_VOLUME = /^wyng-.*metadata$/;

/**
 * Volumes named `wyng-*metadata` hold metadata (as in Wyng): sent first, never thinned, pruned
 * only with `prune --all`, deleted only with --force, and no dedup index is built from them.
 */
export function isMetadataVolume(name: string): boolean {
  return METADATA_VOLUME.test(name);
}

export const MAX_TAGS_PER_SESSION = 5;
export const MAX_TAG_ID_CHARS = 25;

/** Returns why a tag id is invalid, or null. Ids are stored lower-cased. */
export function tagIdProblem(id: string): string | null {
  if (id === '' || /[\s,^=]/u.test(id) || !isPrintable(id)) {
    return "[^control], [space], and ',^=' not allowed in tag ID.";
  }
  if (id.toLowerCase() === 'all') return "Tag ID 'all' is reserved.";
  return null;
}

// Byte addresses and sizes are JS numbers: exact up to 2^53 bytes (8 PiB). The format allows
// volumes up to 2^64-1 bytes; larger-than-8-PiB sizes are refused where they are parsed.

/** `x` + the byte address as 16 lowercase hex digits. */
export function chunkFileName(address: number): string {
  return `x${address.toString(16).padStart(16, '0')}`;
}

/** The chunk's sub-directory: the first 9 of those 16 hex digits (256 MiB of addresses). */
export function chunkDirName(address: number): string {
  return Math.floor(address / 2 ** 28)
    .toString(16)
    .padStart(9, '0');
}
