// The yes/no questions skiff-qubes asks where wyng-util-qubes asks them (restore over existing
// VMs, delete), unless -u/--unattended or stdin is not a terminal (wyng-util-qubes counts that as
// unattended too). The answer is one line read from stdin: "y" or "yes" (any case) goes on,
// anything else is no. End of input (Ctrl-D) is also no, said in one line: where Python's
// input() would die with EOFError, skiff-qubes stops as on "n".

/** The user answered no: skiff-qubes stops, changes nothing more and exits 0 (wyng-util-qubes: sys.exit(0)). */
export class Declined extends Error {
  constructor() {
    super('declined');
  }
}

/** Reads one line from the stream; null at end of input before any line break. Unread bytes are put back. */
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
      if (rest !== '') stream.unshift(Buffer.from(rest));
      finish(text.slice(0, newline).replace(/\r$/, ''));
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
