// skiff-qubes backup: the selected VMs' volumes (private; root too for templates and standalones)
// and the Qubes metadata as one skiff send, one session, whatever pools the VMs are in:
// `--tag=qubes --send-unchanged`, a --local-from file naming each pool's volumes by their archive
// names, and `wyng-qubes-metadata` imported from a tar.gz of every *.xml and notes.txt under
// /var/lib/qubes (wyng-util-qubes' layout). Then each VM that was backed up gets its
// `backup_timestamp`; a VM whose volume failed (the `.error` file skiff leaves) does not.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExitCode } from '../errors.js';
import { QubesUsageError, QubesVmErrors, SkiffStepError } from '../errors.js';
import { collectQubesXml, writeTarGz } from './metadata-tar.js';
import { type QubesRun, skiffBaseArgs } from './qubes-run.js';
import { archiveVolumeName, backedUpVolumes, METADATA_VOLUME, qubeOfVolume } from './volume-names.js';

/**
 * The qubes whose volumes failed, from the `<sets file>.error` skiff writes after a run with exit 2
 * (`{"rc": 2, "volumes": [...]}`); "(unknown)" when there is no such file, as wyng-util-qubes says.
 */
export function qubesOfFailedVolumes(errorFile: string): string[] {
  let untrusted: unknown;
  try {
    untrusted = JSON.parse(readFileSync(errorFile, 'utf8'));
  } catch {
    return ['(unknown)'];
  }
  const volumes = (untrusted as { volumes?: unknown }).volumes;
  if (!Array.isArray(volumes)) return ['(unknown)'];
  const qubes = volumes.flatMap((v) => (typeof v === 'string' && qubeOfVolume(v) ? [qubeOfVolume(v)!.qube] : []));
  return qubes.length > 0 ? [...new Set(qubes)] : ['(unknown)'];
}

const NEVER_BACKED_UP = new Set(['dom0', 'default-mgmt-dvm']);

/** The LV name (lvm_thin) or the path under dir_path (file-reflink) that skiff send reads. */
function localVolumeName(driver: string, vid: string): string {
  return driver === 'lvm_thin' ? vid.slice(vid.indexOf('/') + 1) : `${vid}.img`;
}

export async function backup(run: QubesRun): Promise<void> {
  const { options, host } = run;
  const live = await host.domains();
  const includes: string[] = [];
  if (options.includes) {
    for (const domain of live.values()) {
      if (domain.klass === 'AdminVM' || options.exclude.includes(domain.name)) continue;
      if ((await host.property(domain.name, 'include_in_backups')).value === 'True') includes.push(domain.name);
    }
  }
  const selected = [...new Set([...options.qubes, ...includes])].filter((q) => !options.exclude.includes(q)).sort();
  run.print(`\nSelected for backup:\n ${selected.join(', ')}\n`);

  const pools = await host.pools();
  /** Pool path (skiff's --local) → its volumes (local name = archive name here). */
  const byPool = new Map<string, string[]>();
  const backedUp: string[] = [];
  const failed: string[] = [];
  for (const name of selected) {
    const domain = live.get(name);
    if (!domain || NEVER_BACKED_UP.has(name)) {
      run.print(` Skipping ${name}`);
      continue;
    }
    if (domain.klass === 'DispVM') continue;
    for (const kind of backedUpVolumes(domain.klass)) {
      const volume = await host.volume(name, kind);
      const pool = pools.get(volume.pool);
      if (!pool) {
        run.warn(`Error: ${name}'s ${kind} volume is in pool '${volume.pool}', which is neither lvm_thin nor file-reflink.`);
        failed.push(name);
        continue;
      }
      const local = localVolumeName(pool.driver, volume.vid);
      const archived = archiveVolumeName(name, kind, pool.driver, volume.vid);
      if (local !== archived)
        throw new QubesUsageError(`skiff-qubes: ${name}'s ${kind} volume ${local} would be archived as ${archived}; not supported yet.`);
      if (!byPool.has(pool.path)) byPool.set(pool.path, []);
      byPool.get(pool.path)!.push(local);
    }
    backedUp.push(name);
  }
  if (byPool.size === 0) throw new QubesUsageError('Please supply a list of Qubes VMs to backup.');

  const tarPath = join(run.scratch, 'qmeta.tgz');
  writeFileSync(tarPath, writeTarGz(collectQubesXml(run.qubesDir)), { mode: 0o600 });
  // One send for every pool: Wyng's --local-from file `{POOL PATH: [[ARCHIVE NAME, LOCAL NAME]]}`.
  const setsPath = join(run.scratch, 'vols.json');
  writeFileSync(setsPath, JSON.stringify(Object.fromEntries([...byPool].map(([pool, names]) => [pool, names.map((n) => [n, n])]))), {
    mode: 0o600,
  });
  const args = [...skiffBaseArgs(options), `--local-from=${setsPath}`, '--tag=qubes', '--send-unchanged'];
  if (options.autoprune) args.push(`--autoprune=${options.autoprune}`);
  if (options.remap) args.push('--remap');
  if (options.dedup) args.push('--dedup');
  args.push(`--import-other-from=${METADATA_VOLUME}:|:${tarPath}`, 'send');
  const sent = await run.skiff(args);
  if (sent.code === 2) {
    for (const name of qubesOfFailedVolumes(`${setsPath}.error`)) if (backedUp.includes(name)) failed.push(name);
  } else if (sent.code !== 0) {
    throw new SkiffStepError('skiff send failed; no VM was backed up.', sent.code as ExitCode);
  }
  const timestamp = String(Math.floor(run.now()));
  for (const name of backedUp) {
    if (failed.includes(name)) continue;
    // A disposable made by dom0 is not the user's to keep (wyng-util-qubes leaves it alone too).
    if ((await host.tags(name)).includes('disp-created-by-dom0')) continue;
    await host.setProperty(name, 'backup_timestamp', timestamp);
  }
  if (options.checkAfterSend) {
    const checked = await run.skiff([...skiffBaseArgs(options), '--session=newest', 'arch-check']);
    if (checked.code !== 0) throw new SkiffStepError('skiff arch-check of the new session failed.', checked.code as ExitCode);
  }
  if (failed.length > 0) throw new QubesVmErrors(failed);
}
