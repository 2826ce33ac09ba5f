// How skiff-qubes runs skiff: in this process, through runCli with the same command line a user
// would type (wyng-util-qubes runs `wyng` as a subprocess with those words). In-process because a
// Node start per skiff command adds time and nothing else; the command line, not the engine's
// internals, is the interface, so skiff-qubes stays what wyng-util-qubes is: a user of the CLI,
// and gets every check, message and exit code of skiff unchanged. The seam lets a test see
// exactly which skiff commands were run.

import { Writable } from 'node:stream';
import type { SkiffContext } from '../cli/context.js';
import { runCli } from '../cli/run.js';

export interface SkiffRun {
  code: number;
  /** What the command printed on stdout, when captured. */
  stdout: string;
  /** What it printed on stderr (also shown to the user). */
  stderr: string;
}

export type SkiffBackend = (args: readonly string[], options?: { capture?: boolean }) => Promise<SkiffRun>;

function collector(forward?: NodeJS.WritableStream): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      if (forward) forward.write(chunk, () => done());
      else done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

export function inProcessSkiff(context: SkiffContext, log?: (args: readonly string[]) => void): SkiffBackend {
  return async (args, options = {}) => {
    log?.(args);
    const stdout = options.capture ? collector() : null;
    const stderr = collector(context.stderr);
    const code = await runCli(args, { ...context, stdout: stdout?.stream ?? context.stdout, stderr: stderr.stream });
    return { code, stdout: stdout?.text() ?? '', stderr: stderr.text() };
  };
}
