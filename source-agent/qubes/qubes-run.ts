// What every skiff-qubes action gets: its options, Qubes (the Admin API) and its release, skiff
// (the CLI, in this process), where to print, how to ask, the clock, the environment and a
// private scratch directory.

import type { QubesOptions } from './args.js';
import type { Asker } from './prompt.js';
import type { QubesHost } from './qubes-host.js';
import type { SkiffBackend } from './skiff-backend.js';

export interface QubesRun {
  options: QubesOptions;
  host: QubesHost;
  skiff: SkiffBackend;
  print: (line: string) => void;
  warn: (line: string) => void;
  /** /var/lib/qubes, or SKIFF_QUBES_DIR (tests). */
  qubesDir: string;
  /** A directory of this run's own (0700), removed at the end. */
  scratch: string;
  now: () => number;
  /** The environment the dom0 tools run with (PATH). */
  env: NodeJS.ProcessEnv;
  /** Asks a yes/no question on the terminal (only where options.unattended is false). */
  ask: Asker;
  /** Dom0's Qubes release (major, minor). */
  qubesVersion: [number, number];
}

/** The options every skiff run gets: the archive, the state, the agent, -w pass-throughs. */
export function skiffBaseArgs(options: QubesOptions): string[] {
  const args: string[] = [];
  if (options.dest) args.push(`--dest=${options.dest}`);
  if (options.metaDir) args.push(`--meta-dir=${options.metaDir}`);
  if (options.unattended) args.push('-u');
  if (options.authmin) args.push(`--authmin=${options.authmin}`);
  args.push(...options.skiffOptions);
  return args;
}
