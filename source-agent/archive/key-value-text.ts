// The `key = value` line format of volinfo and info (spec §3.3): Python's print(k, "=", v), read
// back by splitting each line at its first "=" and stripping both sides.

import { itemAt } from '../lookup.js';

export class KeyValueSyntaxError extends Error {}

export function* parseKeyValueLines(text: string): Generator<[key: string, value: string, line: number]> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = itemAt(lines, i);
    if (line.trim() === '') continue;
    const at = line.indexOf('=');
    if (at < 0) throw new KeyValueSyntaxError(`line ${i + 1}: expected "key = value"`);
    yield [line.slice(0, at).trim(), line.slice(at + 1).trim(), i + 1];
  }
}

export function formatKeyValueLines(entries: Iterable<[string, string]>): string {
  let out = '';
  for (const [key, value] of entries) {
    if (/[\r\n]/.test(key + value)) throw new Error(`line break in ${key}`);
    out += `${key} = ${value}\n`;
  }
  return out;
}
