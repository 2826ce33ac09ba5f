// Reading from the user: a secret from the terminal without echo, one line from a pipe, and
// yes/no questions. Only stdin is read, and never more than the line asked for, so a passphrase
// piped in ahead of other input does not swallow it.

import { readSync } from 'node:fs';
import type { ReadStream } from 'node:tty';
import { errnoOf } from '../../protocol/thrown.js';
import { InterruptedError } from '../errors.js';

const MAX_LINE_BYTES = 4096;

/** Reads one line (without its "\n") from a non-terminal stdin, byte by byte. Null at end of input. */
export function readLineFromFd(fd: number): Buffer | null {
  const bytes: number[] = [];
  const one = Buffer.alloc(1);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, one, 0, 1, null);
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10); // stdin not ready yet
        continue;
      }
      if (code === 'EOF') n = 0;
      else throw error;
    }
    if (n === 0) return bytes.length > 0 ? Buffer.from(bytes) : null;
    if (one[0] === 0x0a) return Buffer.from(bytes);
    if (bytes.length >= MAX_LINE_BYTES) throw new RangeError('input line too long');
    bytes.push(one[0]!);
  }
}

/**
 * Reads a line from the terminal with echo off (raw mode). Backspace and Ctrl-U edit, Enter
 * ends, Ctrl-C interrupts, Ctrl-D on an empty line gives an empty result.
 */
export function readSecretFromTerminal(stdin: ReadStream, prompt: () => void = () => {}): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const bytes: number[] = [];
    const finish = (error: Error | null) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      if (error) reject(error);
      else resolvePromise(Buffer.from(bytes));
      bytes.fill(0);
    };
    const onData = (chunk: Buffer) => {
      for (const b of chunk) {
        if (b === 0x0d || b === 0x0a) return finish(null);
        if (b === 0x03) return finish(new InterruptedError());
        if (b === 0x04) {
          if (bytes.length === 0) return finish(null);
          continue;
        }
        if (b === 0x7f || b === 0x08) {
          // Remove one whole UTF-8 character.
          let last = bytes.pop();
          while (last !== undefined && (last & 0xc0) === 0x80) last = bytes.pop();
          continue;
        }
        if (b === 0x15) {
          bytes.length = 0;
          continue;
        }
        if (bytes.length < MAX_LINE_BYTES) bytes.push(b);
      }
      chunk.fill(0);
    };
    // Echo goes off before the prompt appears, so that nothing typed after it is ever echoed.
    stdin.setRawMode(true);
    prompt();
    stdin.on('data', onData);
    stdin.resume();
  });
}

/** Whether a stream is a terminal (Node sets `isTTY` on terminal streams only). */
export function isTerminal(stream: object): boolean {
  return 'isTTY' in stream && Boolean(stream.isTTY);
}

/** A terminal stream's width in columns, when it says (0 or missing: unknown). */
export function terminalColumns(stream: object): number | undefined {
  return 'columns' in stream && typeof stream.columns === 'number' ? stream.columns : undefined;
}

/**
 * Reads one visible line (for questions: y/N, tags) from stdin, a terminal or a pipe; no terminal
 * mode is changed. Null at end of input before any line break (Ctrl-D); bytes after the line
 * break are put back for the next read.
 */
export function readLine(stream: NodeJS.ReadableStream): Promise<string | null> {
  return new Promise((resolve, reject) => {
    // A second question after end of input: no 'end' event will come again.
    if ((stream as { readableEnded?: boolean }).readableEnded) return resolve(null);
    let text = '';
    const finish = (line: string | null) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.pause();
      resolve(line);
    };
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      const newline = text.indexOf('\n');
      if (newline === -1) return;
      const rest = text.slice(newline + 1);
      // Listeners off and the stream paused first: put back into a flowing stream, the rest would
      // come straight back here.
      finish(text.slice(0, newline).replace(/\r$/, ''));
      if (rest !== '') stream.unshift(Buffer.from(rest));
    };
    const onEnd = () => finish(text === '' ? null : text);
    const onError = (error: Error) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      reject(error);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.resume();
  });
}
