// A reader and writer for the ini dialect of Python's configparser (with `optionxform = str`),
// which is what Wyng uses for archive.ini and wyng.ini. The npm `ini` package parses differently
// (inline comments, dotted sections, booleans), so a Wyng file needs this small codec instead.
//
// Reading follows configparser's defaults: sections `[name]`; `key = value` or `key: value`
// split at the first delimiter, both sides stripped; whole-line comments starting with `#` or
// `;` (no inline comments); indented lines continue the previous value (joined with "\n");
// duplicate sections or keys are errors. Keys keep their case.

import { itemAt } from '../lookup.js';

export type IniSections = Map<string, Map<string, string>>;

export class IniSyntaxError extends Error {}

const SECTION = /^\[([^\]]+)\]\s*$/;

export function parseIni(text: string): IniSections {
  const sections: IniSections = new Map();
  let current: Map<string, string> | undefined;
  let lastKey: string | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = itemAt(lines, i);
    const where = `line ${i + 1}`;
    const stripped = line.trim();
    if (stripped === '') {
      // A blank line ends a continuation (configparser keeps blank lines inside values only
      // when more indented text follows; values we read never depend on that).
      lastKey = undefined;
      continue;
    }
    if (stripped.startsWith('#') || stripped.startsWith(';')) continue;
    if (/^\s/.test(line) && current && lastKey !== undefined) {
      current.set(lastKey, `${current.get(lastKey)}\n${stripped}`);
      continue;
    }
    const header = SECTION.exec(line);
    if (header) {
      const name = itemAt(header, 1);
      if (sections.has(name)) throw new IniSyntaxError(`${where}: duplicate section [${name}]`);
      current = new Map();
      sections.set(name, current);
      lastKey = undefined;
      continue;
    }
    if (!current) throw new IniSyntaxError(`${where}: text before the first section header`);
    const eq = line.indexOf('=');
    const colon = line.indexOf(':');
    const at = eq < 0 ? colon : colon < 0 ? eq : Math.min(eq, colon);
    if (at < 0) throw new IniSyntaxError(`${where}: expected "key = value"`);
    const key = line.slice(0, at).trim();
    if (key === '') throw new IniSyntaxError(`${where}: empty key`);
    if (current.has(key)) throw new IniSyntaxError(`${where}: duplicate key "${key}"`);
    current.set(key, line.slice(at + 1).trim());
    lastKey = key;
  }
  return sections;
}

/**
 * Writes sections the way configparser does: `[name]`, then `key = value` lines, then a blank
 * line after every section (so the text ends with "\n\n"). Multi-line values are not written by
 * Skiff, so they are refused rather than silently mangled.
 */
export function formatIni(sections: Iterable<[string, Iterable<[string, string]>]>): string {
  let out = '';
  for (const [name, entries] of sections) {
    out += `[${name}]\n`;
    for (const [key, value] of entries) {
      if (/[\r\n]/.test(key) || /[\r\n]/.test(value)) throw new Error(`ini value for ${key} has a line break`);
      out += `${key} = ${value}\n`;
    }
    out += '\n';
  }
  return out;
}
