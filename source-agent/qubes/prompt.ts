// The yes/no questions skiff-qubes asks where wyng-util-qubes asks them (restore over existing
// VMs, delete), unless -u/--unattended or stdin is not a terminal (wyng-util-qubes counts that as
// unattended too). The answer is one line read from stdin: "y" or "yes" (any case) goes on,
// anything else is no. End of input (Ctrl-D) is also no, said in one line: where Python's
// input() would die with EOFError, skiff-qubes stops as on "n".

import { readLine } from '../sys/terminal.js';

/** The user answered no: skiff-qubes stops, changes nothing more and exits 0 (wyng-util-qubes: sys.exit(0)). */
export class Declined extends Error {
  constructor() {
    super('declined');
  }
}

/** Writes the question (no line break) and reads the answer: true for y/yes. */
export type Asker = (question: string) => Promise<boolean>;

export function terminalAsker(stdin: NodeJS.ReadableStream, write: (text: string) => void, say: (line: string) => void): Asker {
  return async (question) => {
    write(question);
    const answer = await readLine(stdin);
    if (answer === null) {
      say('\nno answer (end of input): taken as no.');
      return false;
    }
    return ['y', 'yes'].includes(answer.trim().toLowerCase());
  };
}
