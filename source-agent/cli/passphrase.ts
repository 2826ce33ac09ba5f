// Where the passphrase comes from (behavior spec §9.2): --passcmd's output, the terminal (no
// echo), or the first line of a piped stdin. The prompt goes to stderr so stdout stays clean.

import type { ReadStream } from 'node:tty';
import { errnoOf } from '../../protocol/thrown.js';
import { AuthenticationError, InputError } from '../errors.js';
import { ExternalCommandError, execFileCapture } from '../sys/exec.js';
import { readLineFromFd, readSecretFromTerminal } from '../sys/terminal.js';

export const MIN_NEW_PASSPHRASE_BYTES = 10;

export interface PassphraseSource {
  passcmd?: string | undefined;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; fd?: number };
  stderr: NodeJS.WritableStream;
}

export async function readPassphrase(source: PassphraseSource, prompt = 'Enter passphrase: '): Promise<Buffer> {
  if (source.passcmd !== undefined) return runPasscmd(source.passcmd);
  if (source.stdin.isTTY) {
    // Node sets isTTY only on tty.ReadStream, which has the raw mode the secret prompt needs.
    const secret = await readSecretFromTerminal(source.stdin as ReadStream, () => source.stderr.write(prompt));
    source.stderr.write('\n');
    return secret;
  }
  source.stderr.write(prompt);
  const line = readLineFromFd(0) ?? Buffer.alloc(0);
  source.stderr.write('\n');
  return line;
}

/**
 * A passphrase the user gave although the agent holds the keys, so that it can be checked
 * rather than ignored: --passcmd's output, or the first line of a stdin that is not a terminal
 * (a pipe or file with data). Nothing is prompted and a terminal is never read: Wyng asks only
 * when it has no keys, and an interactive user who has keys cached typed nothing. An empty
 * stdin (EOF, /dev/null) or a closed one gives null: no passphrase given.
 */
export async function readGivenPassphrase(source: PassphraseSource): Promise<Buffer | null> {
  if (source.passcmd !== undefined) return runPasscmd(source.passcmd);
  if (source.stdin.isTTY) return null;
  let line: Buffer | null;
  try {
    line = readLineFromFd(0);
  } catch (error) {
    if (errnoOf(error) === 'EBADF') return null;
    throw error;
  }
  return line && line.length > 0 ? line : null;
}

async function runPasscmd(command: string): Promise<Buffer> {
  const env = { ...process.env };
  delete env['LC_ALL'];
  let stdout: Buffer;
  try {
    ({ stdout } = await execFileCapture(['/bin/sh', '-c', command], { maxOutput: 64 * 1024, env }));
  } catch (error) {
    if (!(error instanceof ExternalCommandError)) throw error;
    const how = error.signal ? `signal ${error.signal}` : `code ${error.exitCode}`;
    throw new AuthenticationError(`Error ${how} running passcmd: ${command}`);
  }
  let end = stdout.length;
  while (end > 0 && (stdout[end - 1] === 0x0a || stdout[end - 1] === 0x0d)) end--;
  const passphrase = stdout.subarray(0, end);
  if (passphrase.length < MIN_NEW_PASSPHRASE_BYTES) {
    throw new InputError(`Passphrase must be ${MIN_NEW_PASSPHRASE_BYTES} or more characters.`);
  }
  return passphrase;
}

/**
 * A passphrase for a new archive: at least 10 bytes; on a terminal asked twice (three tries),
 * from a pipe read once (behavior spec §1.5, arch-init).
 */
export async function readNewPassphrase(source: PassphraseSource): Promise<Buffer> {
  if (source.passcmd !== undefined) return runPasscmd(source.passcmd);
  const tooShort = `Passphrase must be ${MIN_NEW_PASSPHRASE_BYTES} or more characters.`;
  if (!source.stdin.isTTY) {
    const passphrase = await readPassphrase(source, 'Enter new encryption passphrase: ');
    if (passphrase.length < MIN_NEW_PASSPHRASE_BYTES) throw new InputError(tooShort);
    return passphrase;
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const first = await readPassphrase(source, 'Enter new encryption passphrase: ');
    if (first.length < MIN_NEW_PASSPHRASE_BYTES) {
      source.stderr.write(`${tooShort}\n`);
      continue;
    }
    const second = await readPassphrase(source, 'Re-enter passphrase: ');
    if (first.equals(second)) return first;
    source.stderr.write('Entries do not match.\n');
  }
  throw new InputError('No passphrase: three attempts failed.');
}
