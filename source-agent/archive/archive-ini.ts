// archive.ini (spec §6): the root of the archive. A 17-byte clear header ("[WYNG03]\n" and
// "ci = NN\n"), then a gzip'd ini text, AEAD-sealed with the metadata key when encrypted. The
// header is not authenticated, so the ci it names must match `ci_mode` inside the body.

import { gunzipSync, gzipSync } from 'node:zlib';
import { messageOf } from '../../protocol/thrown.js';
import { isOneOf, itemAt } from '../lookup.js';
import { type CompressionName, isCompressionName, LEVELS } from './compression/index.js';
import { type CipherMode, cipherModeByCode } from './crypto/cipher-modes.js';
import { decodeHash } from './hash.js';
import { formatIni, IniSyntaxError, parseIni } from './ini-text.js';
import { isVolumeId, type VolumeId } from './names.js';

export const HEADER_BYTES = 17;
/** Wyng reads at most this many body bytes (max_conf_sz). */
export const MAX_BODY_BYTES = 184_296;
/** Bound on the decompressed ini text (1024 volumes × ~60 bytes is far below it). */
const MAX_INI_TEXT_BYTES = 4 * 1024 * 1024;
/** Wyng refuses archives claiming to be older than this (2018-01-01). */
export const MIN_UPDATED_AT = 1_514_782_800;
export const CHUNK_SIZES = [65536, 131072, 262144, 524288, 1048576, 2097152] as const;
export const MAX_VOLUMES = 1024;

export class ArchiveIniError extends Error {}

export interface ArchiveIni {
  /** `updated_at` exactly as stored: Wyng compares these as strings. */
  updatedAt: string;
  uuid: string;
  formatVersion: 3;
  chunkSize: number;
  compression: CompressionName;
  compressionLevel: number;
  hashtype: 'hmac-sha256' | 'blake2b';
  mode: CipherMode;
  /** Data and metadata nonce counters (encrypted archives only). */
  dataCounter: bigint | null;
  metadataCounter: bigint | null;
  /** vid → Hm(volinfo) in file order (insertion order). */
  volumes: Map<VolumeId, string>;
  /** The `[in_process]` journal as a list (keys 0, 1, 2 …); empty when no operation is pending. */
  inProcess: string[];
  /** Every `[var]` entry in file order, so that a rewrite keeps order and unknown keys. */
  varEntries: [string, string][];
}

/** Parses the clear header. Returns the cipher mode it names. */
export function parseHeader(file: Uint8Array): CipherMode {
  if (file.length < HEADER_BYTES) throw new ArchiveIniError('shorter than its 17-byte header');
  const head = Buffer.from(file.subarray(0, HEADER_BYTES)).toString('latin1');
  if (!head.startsWith('[WYNG03]\n')) {
    if (head.startsWith('[var]')) throw new ArchiveIniError('old V2 format archive (not supported; upgrade it with Wyng 0.8 first)');
    throw new ArchiveIniError('not a Wyng V3 archive (bad header)');
  }
  const m = /^ci = ([0-9]{2})\n$/.exec(head.slice(9));
  if (!m) throw new ArchiveIniError('bad cipher line in header');
  const mode = cipherModeByCode(itemAt(m, 1));
  if (!mode) throw new ArchiveIniError(`unsupported cipher mode ci = ${m[1]}`);
  return mode;
}

export function formatHeader(mode: CipherMode): Buffer {
  return Buffer.from(`[WYNG03]\nci = ${mode.code}\n`, 'latin1');
}

export function gunzipBody(gzipped: Uint8Array): string {
  let text: Buffer;
  try {
    text = gunzipSync(gzipped, { maxOutputLength: MAX_INI_TEXT_BYTES });
  } catch (error) {
    throw new ArchiveIniError(`body does not decompress (${messageOf(error)})`);
  }
  return text.toString('utf8');
}

/** gzip level 4, as Python's gzip.compress(text, 4). */
export function gzipBody(text: string): Buffer {
  return gzipSync(Buffer.from(text, 'utf8'), { level: 4 });
}

function required(section: Map<string, string>, key: string): string {
  const value = section.get(key);
  if (value === undefined) throw new ArchiveIniError(`[var] lacks ${key}`);
  return value;
}

function parseCounter(section: Map<string, string>, key: string): bigint {
  const text = required(section, key);
  if (!/^[0-9]{1,25}$/.test(text)) throw new ArchiveIniError(`bad ${key}: ${text}`);
  return BigInt(text);
}

/** Parses and validates the ini text of the body against the header's cipher mode. */
export function parseArchiveIniText(text: string, headerMode: CipherMode): ArchiveIni {
  let sections: ReturnType<typeof parseIni>;
  try {
    sections = parseIni(text);
  } catch (error) {
    if (error instanceof IniSyntaxError) throw new ArchiveIniError(`ini syntax: ${error.message}`);
    throw error;
  }
  const v = sections.get('var');
  if (!v) throw new ArchiveIniError('no [var] section');

  const updatedAt = required(v, 'updated_at');
  const updatedSeconds = Number(updatedAt);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(updatedAt) || !(updatedSeconds >= MIN_UPDATED_AT)) {
    throw new ArchiveIniError(`bad updated_at: ${updatedAt}`);
  }
  const uuid = required(v, 'uuid');
  if (!/^[0-9a-fA-F]+(-[0-9a-fA-F]+)+$/.test(uuid) || uuid.length > 64) throw new ArchiveIniError(`bad uuid: ${uuid}`);
  if (required(v, 'format_ver') !== '3') throw new ArchiveIniError(`unsupported format_ver ${v.get('format_ver')}`);
  const chunkSize = Number(required(v, 'chunksize'));
  if (!isOneOf(CHUNK_SIZES, chunkSize)) throw new ArchiveIniError(`unsupported chunksize ${v.get('chunksize')}`);
  const compression = required(v, 'compression');
  if (!isCompressionName(compression)) throw new ArchiveIniError(`unsupported compression ${compression}`);
  const levelText = required(v, 'compr_level');
  const level = Number(levelText);
  const range = LEVELS[compression];
  if (!/^-?[0-9]+$/.test(levelText) || level < range.min || level > range.max) {
    throw new ArchiveIniError(`bad compr_level ${levelText} for ${compression}`);
  }
  const ci = required(v, 'ci_mode');
  if (ci !== headerMode.code) throw new ArchiveIniError(`ci_mode ${ci} does not match the header's ci ${headerMode.code}`);
  const hashtype = required(v, 'hashtype');
  if (hashtype !== headerMode.hashtype) throw new ArchiveIniError(`hashtype ${hashtype} does not fit cipher mode ${ci}`);

  const volumes = new Map<VolumeId, string>();
  for (const [vid, hash] of sections.get('volumes') ?? new Map<string, string>()) {
    if (!isVolumeId(vid)) throw new ArchiveIniError(`bad volume id ${vid}`);
    if (!decodeHash(hash)) throw new ArchiveIniError(`bad hash for ${vid}`);
    volumes.set(vid, hash);
  }
  if (volumes.size > MAX_VOLUMES) throw new ArchiveIniError(`more than ${MAX_VOLUMES} volumes`);

  const inProcess: string[] = [];
  const journal = sections.get('in_process') ?? new Map<string, string>();
  for (let i = 0; i < journal.size; i++) {
    const value = journal.get(String(i));
    if (value === undefined) throw new ArchiveIniError('[in_process] keys are not 0, 1, 2 …');
    inProcess.push(value);
  }

  return {
    updatedAt,
    uuid,
    formatVersion: 3,
    chunkSize,
    compression,
    compressionLevel: level,
    hashtype: headerMode.hashtype,
    mode: headerMode,
    dataCounter: headerMode.encrypted ? parseCounter(v, 'dataci_count') : null,
    metadataCounter: headerMode.encrypted ? parseCounter(v, 'mci_count') : null,
    volumes,
    inProcess,
    varEntries: [...v.entries()],
  };
}

/**
 * The ini text of an archive.ini, keeping the order of `varEntries` and refreshing the fields
 * that the object holds. New archives get Wyng's key order.
 */
export function formatArchiveIniText(ini: ArchiveIni): string {
  const fields = new Map<string, string>([
    ['updated_at', ini.updatedAt],
    ['uuid', ini.uuid],
    ['format_ver', String(ini.formatVersion)],
    ['chunksize', String(ini.chunkSize)],
    ['compression', ini.compression],
    ['compr_level', String(ini.compressionLevel)],
    ['hashtype', ini.hashtype],
    ['ci_mode', ini.mode.code],
  ]);
  if (ini.mode.encrypted) {
    fields.set('dataci_count', String(ini.dataCounter ?? 0n));
    fields.set('mci_count', String(ini.metadataCounter ?? 0n));
  }
  const varOut: [string, string][] = ini.varEntries.map(([k, value]) => [k, fields.get(k) ?? value]);
  for (const [k, value] of fields) if (!varOut.some(([key]) => key === k)) varOut.push([k, value]);
  return formatIni([
    ['var', varOut],
    ['volumes', [...ini.volumes]],
    ['in_process', ini.inProcess.map((value, i): [string, string] => [String(i), value])],
  ]);
}
