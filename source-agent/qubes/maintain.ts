// skiff-qubes verify, prune and delete: skiff's verify, prune and delete on the archive volumes
// of the VMs named, as wyng-util-qubes runs them through wyng.

import type { ExitCode } from '../errors.js';
import { QubesUsageError, QubesVmErrors, SkiffStepError } from '../errors.js';
import { Declined } from './prompt.js';
import { type QubesRun, skiffBaseArgs } from './qubes-run.js';
import { chooseSession, readDirectory, selectQubes, sessionMetadata } from './restore.js';

/** Every archive volume of the qubes, in any Qubes backup session (or only in `session`). */
function volumesOf(directory: Awaited<ReturnType<typeof readDirectory>>, qubes: readonly string[], session?: string): string[] {
  const volumes = new Set<string>();
  for (const qube of qubes) {
    for (const [name, kinds] of directory.qubeVolumes.get(qube) ?? []) {
      if (session === undefined || name === session) for (const volume of kinds.values()) volumes.add(volume);
    }
  }
  return [...volumes].sort();
}

/** verify: every volume of the selected VMs in one session. */
export async function verify(run: QubesRun): Promise<void> {
  const directory = await readDirectory(run);
  const session = chooseSession(run, directory);
  const backups = (await sessionMetadata(run, session)).domains;
  const { selected, notMatched } = selectQubes(run, directory, session, backups);
  const names = selected.map((d) => d.name).sort();
  run.print(`\nVMs matched in session ${session}:\n ${names.join(', ') || '(none)'}\n`);
  if (notMatched.length > 0) run.print(`\nNot matched:\n ${[...notMatched].sort().join(', ')}`);
  if (names.length === 0) throw new QubesVmErrors(notMatched);
  const verified = await run.skiff([
    ...skiffBaseArgs(run.options),
    `--session=${session}`,
    'verify',
    ...volumesOf(directory, names, session),
  ]);
  const errors = [...notMatched];
  if (verified.code === 2) errors.push(...names.filter((q) => volumesOf(directory, [q], session).some((v) => verified.stderr.includes(v))));
  else if (verified.code !== 0) throw new SkiffStepError('skiff verify failed.', verified.code as ExitCode);
  if (errors.length > 0) throw new QubesVmErrors(errors);
}

/** prune: sessions of the VMs' volumes (all volumes when none is named), by --session and/or --autoprune. */
export async function prune(run: QubesRun): Promise<void> {
  const { options } = run;
  if (!options.session && !options.autoprune) throw new QubesUsageError('Please specify a session, an autoprune mode or both.');
  const directory = await readDirectory(run);
  const args = [...skiffBaseArgs(options)];
  if (options.session) args.push(`--session=${options.session}`);
  if (options.all) args.push('--all');
  if (options.allBefore) args.push('--all-before');
  if (options.autoprune) args.push(`--autoprune=${options.autoprune}`);
  const pruned = await run.skiff([...args, 'prune', ...volumesOf(directory, options.qubes)]);
  if (pruned.code !== 0) throw new SkiffStepError('skiff prune failed.', pruned.code as ExitCode);
}

/** delete: every archive volume of one VM. */
export async function deleteQube(run: QubesRun): Promise<void> {
  if (run.options.qubes.length !== 1) throw new QubesUsageError('Please specify a single qube name to delete.');
  const directory = await readDirectory(run);
  if (!run.options.unattended) {
    run.print('Warning:  Data cannot be recovered after deleting it from the archive.');
    if (!(await run.ask('Continue [y/N]? '))) throw new Declined();
  }
  for (const volume of volumesOf(directory, run.options.qubes)) {
    // Asked once above (or -u): skiff is not to ask again per volume, as wyng-util-qubes runs it.
    const base = skiffBaseArgs(run.options);
    const deleted = await run.skiff([
      ...base,
      ...(base.includes('-u') ? [] : ['-u']),
      run.options.verbose ? '--verbose' : '--quiet',
      'delete',
      volume,
    ]);
    if (deleted.code !== 0) throw new SkiffStepError(`skiff delete ${volume} failed.`, deleted.code as ExitCode);
  }
}
