// The XML that `thin_delta` prints for two thin devices of one pool, read with limits.
//
// thin_delta is our own machine's tool, but its output decides which chunks a send reads: a
// truncated document (the tool killed, a pipe cut) or a garbled one must never be taken as "these
// are all the changes" — that would silently store a wrong backup. So this parser accepts only
// the exact shape thin_delta 0.7–1.x prints (compact, and --verbose with <range> children),
// refuses anything else with a ThinDeltaError, and returns a result only after the closing
// </superblock>. It streams: memory stays bounded by one tag, plus the ranges unless a callback
// takes them.
//
// Units: `begin`/`length` count the thin device's *virtual* blocks of `data_block_size` 512-byte
// sectors (the pool's chunk size, 64 KiB..1 GiB); the data_begin attributes of --verbose name pool
// data blocks and are only checked, not returned.

import { LocalStorageError } from '../../errors.js';

/** A thin_delta document we cannot trust: truncated, garbled, unknown, or beyond the limits. */
export class ThinDeltaError extends LocalStorageError {
  constructor(detail: string) {
    super(`thin_delta output not understood: ${detail}`);
  }
}

export type ThinDeltaKind = 'same' | 'different' | 'left_only' | 'right_only';
const KINDS: ReadonlySet<string> = new Set<ThinDeltaKind>(['same', 'different', 'left_only', 'right_only']);

export interface ThinDeltaRange {
  kind: ThinDeltaKind;
  /** First virtual block (in blocks of dataBlockSize sectors). */
  begin: number;
  length: number;
}

export interface ThinDelta {
  /** Pool block size in 512-byte sectors. */
  dataBlockSize: number;
  left: number;
  right: number;
  /** Empty when an onRange callback took them. */
  ranges: ThinDeltaRange[];
}

export interface ThinDeltaLimits {
  /** Expected --thin1 / --thin2 device ids; a document about other devices is refused. */
  left?: number;
  right?: number;
  /** Virtual blocks of the larger of the two devices: ranges ending past it are refused. */
  maxVirtualBlocks?: number;
  /** Most ranges kept in memory (ignored with onRange). Default 16 Mi. */
  maxRanges?: number;
  /** Most bytes of XML accepted. Default 4 GiB. */
  maxBytes?: number;
}

export interface ThinDeltaOptions extends ThinDeltaLimits {
  onRange?: (range: ThinDeltaRange) => void;
}

// dm-thin's limits on the pool chunk size (DATA_DEV_BLOCK_SIZE_MIN/MAX_SECTORS).
const MIN_BLOCK_SECTORS = 128;
const MAX_BLOCK_SECTORS = 2097152;
/** No tag thin_delta prints comes close; a longer one is garbage, not something to buffer. */
const MAX_TAG = 4096;

const TAG = /^<(\/?)([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<&]*")*)\s*(\/?)>$/s;
const ATTR = /([A-Za-z_][\w.-]*)="([^"<&]*)"/g;
const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;

const ATTRS: Record<string, { required: readonly string[]; optional: readonly string[] }> = {
  superblock: { required: ['data_block_size'], optional: ['uuid', 'time', 'transaction', 'flags', 'version', 'nr_data_blocks'] },
  diff: { required: ['left', 'right'], optional: [] },
  compact: { required: ['begin', 'length'], optional: [] },
  range: { required: ['begin', 'length'], optional: ['data_begin', 'left_data_begin', 'right_data_begin'] },
};

type State = 'start' | 'superblock' | 'diff' | 'group' | 'after-diff' | 'done';

/** Push text as it arrives, then end(); every method throws ThinDeltaError on bad input. */
export class ThinDeltaParser {
  readonly #options: ThinDeltaOptions;
  #buffer = '';
  #bytes = 0;
  #state: State = 'start';
  #group: ThinDeltaKind | null = null;
  #dataBlockSize = 0;
  #left = -1;
  #right = -1;
  #nextBegin = 0;
  #count = 0;
  readonly #ranges: ThinDeltaRange[] = [];

  constructor(options: ThinDeltaOptions = {}) {
    this.#options = options;
  }

  /** The pool block size (sectors) once <superblock> was read, else 0 (onRange sees it set). */
  get dataBlockSize(): number {
    return this.#dataBlockSize;
  }

  push(text: string): void {
    this.#bytes += text.length;
    if (this.#bytes > (this.#options.maxBytes ?? 4 * 1024 ** 3)) throw new ThinDeltaError('more bytes than the limit');
    this.#buffer += text;
    this.#drain();
  }

  end(): ThinDelta {
    this.#drain();
    if (this.#buffer.trim() !== '') throw new ThinDeltaError('document ends inside a tag (truncated)');
    if (this.#state !== 'done') throw new ThinDeltaError('document ends before </superblock> (truncated)');
    return { dataBlockSize: this.#dataBlockSize, left: this.#left, right: this.#right, ranges: this.#ranges };
  }

  #drain(): void {
    for (;;) {
      const open = this.#buffer.indexOf('<');
      const text = open < 0 ? this.#buffer : this.#buffer.slice(0, open);
      if (text.trim() !== '') throw new ThinDeltaError(this.#state === 'done' ? 'text after the document' : 'unexpected text between tags');
      if (open < 0) {
        this.#buffer = '';
        return;
      }
      const close = this.#buffer.indexOf('>', open);
      if (close < 0) {
        this.#buffer = this.#buffer.slice(open);
        if (this.#buffer.length > MAX_TAG) throw new ThinDeltaError('tag too long');
        return;
      }
      if (close - open > MAX_TAG) throw new ThinDeltaError('tag too long');
      this.#tag(this.#buffer.slice(open, close + 1));
      this.#buffer = this.#buffer.slice(close + 1);
    }
  }

  #tag(raw: string): void {
    const m = TAG.exec(raw);
    if (!m) throw new ThinDeltaError(`malformed tag ${JSON.stringify(raw.slice(0, 80))}`);
    const closing = m[1] === '/';
    const name = m[2] as string;
    const selfClosing = m[4] === '/';
    if (closing && (selfClosing || m[3] !== '')) throw new ThinDeltaError(`malformed tag ${JSON.stringify(raw.slice(0, 80))}`);
    const unexpected = () => new ThinDeltaError(`unexpected <${closing ? '/' : ''}${name}> ${this.#where()}`);

    switch (this.#state) {
      case 'start': {
        if (closing || selfClosing || name !== 'superblock') throw unexpected();
        const a = attributes(name, m[3] as string, 'superblock');
        const size = number(a, 'data_block_size');
        if (size < MIN_BLOCK_SECTORS || size > MAX_BLOCK_SECTORS || size % MIN_BLOCK_SECTORS !== 0) {
          throw new ThinDeltaError(`data_block_size ${size} is not a thin-pool block size`);
        }
        this.#dataBlockSize = size;
        this.#state = 'superblock';
        return;
      }
      case 'superblock': {
        if (closing || selfClosing || name !== 'diff') throw unexpected();
        const a = attributes(name, m[3] as string, 'diff');
        this.#left = number(a, 'left');
        this.#right = number(a, 'right');
        const { left, right } = this.#options;
        if ((left !== undefined && left !== this.#left) || (right !== undefined && right !== this.#right)) {
          throw new ThinDeltaError(`diff of devices left=${this.#left} right=${this.#right}, expected ${left}/${right}`);
        }
        this.#state = 'diff';
        return;
      }
      case 'diff': {
        if (closing && name === 'diff') {
          this.#state = 'after-diff';
          return;
        }
        if (closing || !KINDS.has(name)) throw unexpected();
        if (selfClosing) {
          this.#range(name as ThinDeltaKind, attributes(name, m[3] as string, 'compact'));
        } else {
          if (m[3] !== '') throw new ThinDeltaError(`attributes on <${name}> in verbose form`);
          this.#group = name as ThinDeltaKind;
          this.#state = 'group';
        }
        return;
      }
      case 'group': {
        if (closing && name === this.#group) {
          this.#group = null;
          this.#state = 'diff';
          return;
        }
        if (closing || !selfClosing || name !== 'range') throw unexpected();
        this.#range(this.#group as ThinDeltaKind, attributes(name, m[3] as string, 'range'));
        return;
      }
      case 'after-diff': {
        if (!closing || name !== 'superblock') throw unexpected();
        this.#state = 'done';
        return;
      }
      case 'done':
        throw new ThinDeltaError(`<${name}> after the document`);
    }
  }

  #range(kind: ThinDeltaKind, a: Map<string, string>): void {
    const begin = number(a, 'begin');
    const length = number(a, 'length');
    for (const key of ['data_begin', 'left_data_begin', 'right_data_begin']) if (a.has(key)) number(a, key);
    if (length < 1) throw new ThinDeltaError(`length ${length} at block ${begin}`);
    // thin_delta walks both mapping trees in order: ranges ascend and never overlap.
    if (begin < this.#nextBegin) throw new ThinDeltaError(`range at block ${begin} out of order`);
    const end = begin + length;
    const max = this.#options.maxVirtualBlocks;
    if (!Number.isSafeInteger(end) || (max !== undefined && end > max)) {
      throw new ThinDeltaError(`range ${begin}+${length} reaches beyond the volume (${max ?? 'limit'} blocks)`);
    }
    this.#nextBegin = end;
    const range = { kind, begin, length };
    if (this.#options.onRange) {
      this.#options.onRange(range);
      return;
    }
    if (++this.#count > (this.#options.maxRanges ?? 16 * 1024 * 1024)) throw new ThinDeltaError('more ranges than the limit');
    this.#ranges.push(range);
  }

  #where(): string {
    return this.#state === 'group' ? `inside <${this.#group}>` : `in state ${this.#state}`;
  }
}

/** Parses a whole document (see ThinDeltaParser). */
export function parseThinDelta(text: string, options: ThinDeltaOptions = {}): ThinDelta {
  const parser = new ThinDeltaParser(options);
  parser.push(text);
  return parser.end();
}

function attributes(tag: string, text: string, shape: keyof typeof ATTRS): Map<string, string> {
  const spec = ATTRS[shape] as { required: readonly string[]; optional: readonly string[] };
  const found = new Map<string, string>();
  for (const m of text.matchAll(ATTR)) {
    const key = m[1] as string;
    if (!spec.required.includes(key) && !spec.optional.includes(key)) throw new ThinDeltaError(`<${tag}> has unknown attribute ${key}`);
    if (found.has(key)) throw new ThinDeltaError(`<${tag}> has attribute ${key} twice`);
    found.set(key, m[2] as string);
  }
  for (const key of spec.required) if (!found.has(key)) throw new ThinDeltaError(`<${tag}> lacks ${key}`);
  return found;
}

function number(a: Map<string, string>, key: string): number {
  const text = a.get(key) ?? '';
  const value = Number(text);
  if (!DECIMAL.test(text) || !Number.isSafeInteger(value)) throw new ThinDeltaError(`${key}="${text.slice(0, 40)}" is not a block number`);
  return value;
}
