// Small formatting helpers that reproduce Python's output where Wyng's users see it.

import { isPrintable } from '../archive/names.js';

/**
 * archive.ini's updated_at as Wyng prints it: local time, ISO format with microseconds (omitted
 * when zero), then the UTC offset: "2026-11-28 15:38:34.370038 (+00:00)".
 */
export function formatUpdatedAt(updatedAt: string): string {
  const [whole = '0', fraction = ''] = updatedAt.split('.');
  let seconds = Number(whole);
  let micros = Math.round(Number(`0.${fraction || '0'}`) * 1e6);
  if (micros === 1_000_000) {
    seconds += 1;
    micros = 0;
  }
  const date = new Date(seconds * 1000);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const offsetMinutes = -date.getTimezoneOffset();
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const base = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  return `${base}${micros ? `.${pad(micros, 6)}` : ''} (${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)})`;
}

/**
 * Python's repr() of a str, for the tuples `list --tag` prints: every character that is not
 * printable (Python's str.isprintable, names.ts) escaped as \xNN, \uNNNN or \UNNNNNNNN, so no
 * terminal control (C0, C1, bidi override, lone surrogate) is printed raw.
 */
export function pythonRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (isPrintable(ch)) out += ch;
    else if (code < 0x100) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return out + quote;
}

/**
 * JSON as Python's json.dumps writes it by default: ", " and ": " separators and non-ASCII
 * escaped as \uXXXX. Integers beyond 2^53 (nanosecond times) are given as bigint and written
 * exactly.
 */
export function pythonJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') {
    return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  // Maps keep their order for any key (a plain object would move integer-like keys first).
  const entries = value instanceof Map ? [...value.entries()] : typeof value === 'object' ? Object.entries(value) : [];
  return `{${entries.map(([k, v]) => `${pythonJson(k)}: ${pythonJson(v)}`).join(', ')}}`;
}
