// skiff-qubes list: the archive's Qubes backups as wyng-util-qubes shows them: the newest session
// per VM; the sessions of the VMs named (or all with --all); the VMs of one --session; or, with
// --pool-info, Qubes' local storage pools.

import { QubesUsageError } from '../errors.js';
import type { QubesRun } from './qubes-run.js';
import { readDirectory, sessionMetadata } from './restore.js';

function localTime(seconds: number): string {
  const date = new Date(seconds * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  const offset = -date.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    ` (${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)})`
  );
}

export async function list(run: QubesRun): Promise<void> {
  const { options } = run;
  if (options.poolInfo) {
    run.print('\nQubes local storage pools:');
    for (const pool of (await run.host.pools()).values()) run.print(` ${pool.name.padEnd(24)}: ${pool.driver.padEnd(12)}, ${pool.path}`);
    run.print('');
    return;
  }
  const directory = await readDirectory(run);
  run.print(`\nURL ${directory.url}`);
  run.print(`Last updated ${localTime(directory.updatedAt)}`);
  if (directory.encrypted !== null) run.print(`Encryption: ${directory.encrypted ? 'On' : 'OFF'}`);
  const selected = options.all ? [...directory.qubeVolumes.keys()] : options.qubes;
  if (options.session) {
    const session = options.session;
    const inSession = directory.sessionQubes.get(session);
    if (!inSession) throw new QubesUsageError(`No match for session ${session}.`);
    const backups = (await sessionMetadata(run, session)).domains;
    const dispvms = [...backups.values()].filter((d) => d.klass === 'DispVM').map((d) => d.name);
    run.print(`\nQubes in session ${session}:`);
    for (const qube of [...new Set([...[...inSession].filter((q) => backups.has(q)), ...dispvms])].sort()) {
      if (!options.includeDisposable && dispvms.includes(qube)) continue;
      run.print(`  ${qube}${dispvms.includes(qube) ? ' (D)' : ''}`);
    }
    const tags = [...(directory.sessionTags.get(session) ?? new Map<string, string>())].filter(([id]) => id !== 'qubes');
    if (tags.length > 0) {
      run.print('\nTags in session:');
      for (const [id, description] of tags) run.print(`  ${id.padEnd(12)} - ${description}`);
    }
  } else if (selected.length > 0) {
    for (const qube of selected) {
      const sessions = [...(directory.qubeVolumes.get(qube)?.keys() ?? [])].sort();
      if (sessions.length === 0) continue;
      run.print(`\n${qube}:`);
      for (const session of sessions) run.print(session);
    }
  } else {
    run.print('\n* Archived Qubes VMs *');
    run.print('\nLatest:           VM Name:');
    for (const [qube, sessions] of [...directory.qubeVolumes].sort(([a], [b]) => (a < b ? -1 : 1))) {
      run.print(`${[...sessions.keys()].sort().at(-1)}  ${qube}`);
    }
  }
  run.print('');
}
