// The `wyng-qubes-metadata` volume: a gzip-compressed tar of every `*.xml` and `notes.txt` under
// /var/lib/qubes (qubes.xml, and per VM e.g. appvms/NAME/firewall.xml and appvms/NAME/notes.txt),
// member names relative and starting `./`, as `find . -name '*.xml' -o -name notes.txt | tar -cz
// -T -` run in that directory writes them. That is the layout
// wyng-util-qubes writes and reads. Written and read here (ustar, regular files only, GNU long names) so that no
// tar process is needed; the tar received back from the archive is untrusted: members other than
// regular files are skipped and names are checked before anyone uses them as paths.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { QubesMetadataError } from '../errors.js';

const BLOCK = 512;

export interface TarMember {
  name: string;
  data: Buffer;
  mode: number;
  mtime: number;
}

/** Every *.xml and notes.txt below dir, as `./relative/path`, in directory order sorted by name. */
export function collectQubesXml(dir: string): TarMember[] {
  const members: TarMember[] = [];
  const walk = (relative: string) => {
    for (const entry of readdirSync(join(dir, relative), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && (entry.name.endsWith('.xml') || entry.name === 'notes.txt')) {
        const full = join(dir, path);
        const stat = statSync(full);
        members.push({ name: `./${path}`, data: readFileSync(full), mode: stat.mode & 0o7777, mtime: Math.floor(stat.mtimeMs / 1000) });
      }
    }
  };
  walk('');
  return members;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** ustar's name and prefix fields for a path, or null when it does not fit them. */
function ustarName(path: string): { name: string; prefix: string } | null {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  const cut = path.lastIndexOf('/', 155);
  if (cut <= 0 || Buffer.byteLength(path.slice(0, cut)) > 155 || Buffer.byteLength(path.slice(cut + 1)) > 100) return null;
  return { name: path.slice(cut + 1), prefix: path.slice(0, cut) };
}

function header(member: TarMember, type = '0'): Buffer {
  const block = Buffer.alloc(BLOCK);
  const { name, prefix } = ustarName(member.name) ?? { name: member.name.slice(0, 100), prefix: '' };
  block.write(name, 0, 100);
  block.write(octal(member.mode, 8), 100);
  block.write(octal(0, 8), 108);
  block.write(octal(0, 8), 116);
  block.write(octal(member.data.length, 12), 124);
  block.write(octal(member.mtime, 12), 136);
  block.write('        ', 148);
  block.write(type, 156);
  block.write('ustar\0', 257);
  block.write('00', 263);
  block.write('root', 265);
  block.write('root', 297);
  block.write(prefix, 345, 155);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return block;
}

/** A .tar.gz of the members (what `tar -cz` writes, as far as any tar reader can tell). */
export function writeTarGz(members: readonly TarMember[]): Buffer {
  const parts: Buffer[] = [];
  const add = (member: TarMember, type = '0') => {
    parts.push(header(member, type), member.data, Buffer.alloc((BLOCK - (member.data.length % BLOCK)) % BLOCK));
  };
  for (const member of members) {
    // A path ustar cannot hold goes first as a GNU long-name entry (what GNU tar writes and reads).
    if (!ustarName(member.name)) add({ name: '././@LongLink', data: Buffer.from(`${member.name}\0`), mode: 0o644, mtime: 0 }, 'L');
    add(member);
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return gzipSync(Buffer.concat(parts));
}

function field(block: Buffer, at: number, length: number): string {
  const raw = block.subarray(at, at + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString('utf8');
}

/** Bounds on the untrusted tar: a long name or a member count past these is no Qubes metadata. */
export const MAX_MEMBER_NAME_BYTES = 4096;
export const MAX_MEMBERS = 100_000;

/** A member name that stays inside the directory it would be extracted to, and holds no control characters (it may be printed). */
function safeName(untrustedName: string): string | null {
  const name = untrustedName.replace(/^(\.\/)+/, '');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (Buffer.byteLength(name) > MAX_MEMBER_NAME_BYTES || /[\u0000-\u001f\u007f-\u009f\\]/.test(name)) return null;
  if (name === '' || name.startsWith('/') || name.split('/').some((part) => part === '..' || part === '')) return null;
  return name;
}

/** The regular files of a .tar.gz from the archive, by name without the leading `./`. */
export function readTarGz(untrustedBytes: Buffer): Map<string, Buffer> {
  let tar: Buffer;
  try {
    tar = gunzipSync(untrustedBytes, { maxOutputLength: 256 * 1024 * 1024 });
  } catch (error) {
    throw new QubesMetadataError(`the Qubes metadata is not a gzip file: ${(error as Error).message}`);
  }
  const files = new Map<string, Buffer>();
  let at = 0;
  /** The name a GNU long-name entry ('L') gave the next member. */
  let longName: string | null = null;
  let members = 0;
  while (at + BLOCK <= tar.length) {
    if (++members > MAX_MEMBERS) throw new QubesMetadataError(`the Qubes metadata tar holds more than ${MAX_MEMBERS} members`);
    const block = tar.subarray(at, at + BLOCK);
    if (block.every((byte) => byte === 0)) break;
    const size = Number.parseInt(field(block, 124, 12).trim() || '0', 8);
    if (!Number.isSafeInteger(size) || size < 0 || at + BLOCK + size > tar.length)
      throw new QubesMetadataError('the Qubes metadata tar is damaged');
    const prefix = field(block, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100));
    const type = String.fromCharCode(block[156]!);
    const data = tar.subarray(at + BLOCK, at + BLOCK + size);
    longName = null;
    if (type === 'L') {
      const end = data.indexOf(0);
      // A name past the bound is not decoded: '' makes safeName drop the member it names.
      longName = size > MAX_MEMBER_NAME_BYTES + 1 ? '' : data.subarray(0, end === -1 ? data.length : end).toString('utf8');
    } else {
      const safe = safeName(name);
      if ((type === '0' || type === '\0') && safe !== null) files.set(safe, Buffer.from(data));
    }
    at += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return files;
}
