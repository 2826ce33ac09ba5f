// Runs one skiff-qubes command line: parses it, connects the parts (Qubes' Admin API, skiff in
// this process, a private scratch directory), runs the action and turns every outcome into an
// exit code: skiff-qubes' one place for that, with the same table as skiff (errors.ts).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inert } from '../../protocol/inert-text.js';
import type { SkiffContext } from '../cli/context.js';
import { describeError, ExitCode, SkiffError } from '../errors.js';
import { RELEASE_LINE } from '../version.js';
import { AdminClient } from './admin-client.js';
import { parseQubesArgs, USAGE } from './args.js';
import { backup } from './backup.js';
import { list } from './list.js';
import { deleteQube, prune, verify } from './maintain.js';
import { Declined, terminalAsker } from './prompt.js';
import { QubesHost } from './qubes-host.js';
import type { QubesRun } from './qubes-run.js';
import { qubesVersion } from './qubes-version.js';
import { restore } from './restore.js';
import { inProcessSkiff, type SkiffBackend } from './skiff-backend.js';

export const QUBES_DIR = '/var/lib/qubes';

export async function runQubesCli(
  argv: readonly string[],
  context: SkiffContext & { env: NodeJS.ProcessEnv },
  skiff?: SkiffBackend,
): Promise<number> {
  // Lines name qubes, sessions and volumes read from the archive (untrusted): inert, keeping only our own line breaks.
  const out = (line: string) => context.stdout.write(`${inert(line, '\n')}\n`);
  const err = (line: string) => context.stderr.write(`${inert(line)}\n`);
  let scratch: string | null = null;
  try {
    const options = parseQubesArgs(argv);
    // As wyng-util-qubes: no questions when stdin is not a terminal (nothing waits on a pipe or /dev/null).
    options.unattended ||= !(context.stdin as { isTTY?: boolean }).isTTY;
    if (options.help) {
      context.stdout.write(USAGE);
      return ExitCode.ok;
    }
    out(`skiff-qubes (${RELEASE_LINE})`);
    scratch = mkdtempSync(join(tmpdir(), 'skiff-qubes-'));
    const run: QubesRun = {
      options,
      host: new QubesHost(AdminClient.fromEnv(context.env)),
      skiff: skiff ?? inProcessSkiff(context, options.debug ? (args) => err(`skiff ${args.join(' ')}`) : undefined),
      print: out,
      warn: err,
      qubesDir: context.env['SKIFF_QUBES_DIR'] || QUBES_DIR,
      scratch,
      now: context.now,
      env: context.env,
      ask: terminalAsker(context.stdin, (text) => context.stdout.write(inert(text)), out),
      qubesVersion: qubesVersion(context.env),
    };
    switch (options.action) {
      case 'backup':
        await backup(run);
        break;
      case 'restore':
        await restore(run);
        break;
      case 'list':
        await list(run);
        return ExitCode.ok;
      case 'verify':
        await verify(run);
        break;
      case 'prune':
        await prune(run);
        break;
      case 'delete':
        await deleteQube(run);
        break;
    }
    out('\nDone.');
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof Declined) return ExitCode.ok;
    if (error instanceof SkiffError) {
      err(error.message);
      return error.exitCode;
    }
    err(`skiff-qubes: ${describeError(error)}`);
    if (argv.includes('--debug') && error instanceof Error && error.stack) context.stderr.write(`${error.stack}\n`);
    return ExitCode.fatal;
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}
