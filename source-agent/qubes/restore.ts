// skiff-qubes restore: VMs as they were in one Qubes backup session. The session's qubes.xml
// (from the wyng-qubes-metadata tar) says what each VM was; a missing VM is created (templates
// and netvms first: restore-order.ts), volumes are received into the VM's pool with
// `skiff receive --local=POOL --force`, then prefs, features and tags are set as in the backup
// (and those not in it reset or removed), and the firewall rules of its firewall.xml. A VM that is running is never touched: the whole restore
// is refused before anything changes. A VM is tagged `restore_incomplete` until it is done.

import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ExitCode } from '../errors.js';
import { QubesAdminError, QubesMetadataError, QubesRefusal, QubesUsageError, QubesVmErrors, SkiffStepError } from '../errors.js';
import { type ArchiveDirectory, latestCommonSession, parseArchiveDirectory } from './archive-directory.js';
import { DEFAULT_FIREWALL, firewallPath, firewallRules } from './firewall.js';
import { readTarGz } from './metadata-tar.js';
import type { LiveDomain } from './qubes-host.js';
import { type QubesRun, skiffBaseArgs } from './qubes-run.js';
import { parseQubesXml, type QubesXmlDomain } from './qubes-xml.js';
import { restoreOrder } from './restore-order.js';
import { backedUpVolumes, METADATA_VOLUME } from './volume-names.js';

/** Properties restore leaves alone: identity, Qubes' own bookkeeping, and the label (set apart). */
const NOT_RESTORED = new Set([
  'dispid',
  'installed_by_rpm',
  'qid',
  'uuid',
  'xid',
  'klass',
  'label',
  'name',
  'backup_timestamp',
  'ip',
  'ip6',
  'stubdom_mem',
  'stubdom_xid',
]);

const INCOMPLETE = 'restore_incomplete';

export async function readDirectory(run: QubesRun): Promise<ArchiveDirectory> {
  const listed = await run.skiff([...skiffBaseArgs(run.options), '--json', 'list'], { capture: true });
  if (listed.code !== 0) throw new SkiffStepError('skiff list failed.', listed.code as ExitCode);
  const directory = parseArchiveDirectory(listed.stdout);
  if (!directory.sessionQubes.size && run.options.action !== 'backup') throw new QubesUsageError('No Qubes backup sessions.');
  return directory;
}

export interface SessionMetadata {
  domains: Map<string, QubesXmlDomain>;
  /** The tar's files by path under /var/lib/qubes (qubes.xml, appvms/NAME/firewall.xml, …). */
  files: Map<string, Buffer>;
}

/** The session's qubes.xml and the other files of the metadata volume's tar. */
/** The compressed metadata tar's limit (its uncompressed limit is readTarGz's). */
const MAX_METADATA_TAR_BYTES = 256 * 1024 * 1024;

export async function sessionMetadata(run: QubesRun, session: string): Promise<SessionMetadata> {
  const tarPath = join(run.scratch, `qmeta-${session}.tgz`);
  const received = await run.skiff([
    ...skiffBaseArgs(run.options),
    '--quiet',
    `--save-to=${tarPath}`,
    `--session=${session}`,
    'receive',
    METADATA_VOLUME,
  ]);
  if (received.code !== 0) throw new SkiffStepError(`cannot receive ${METADATA_VOLUME} of session ${session}.`, received.code as ExitCode);
  // The volume's size is the archive's word: a file far past any Qubes metadata is refused before it is read into memory.
  if (statSync(tarPath).size > MAX_METADATA_TAR_BYTES)
    throw new QubesMetadataError(`session ${session}: ${METADATA_VOLUME} is larger than ${MAX_METADATA_TAR_BYTES} bytes`);
  const files = readTarGz(readFileSync(tarPath));
  const xml = files.get('qubes.xml');
  if (!xml) throw new QubesMetadataError(`session ${session}: ${METADATA_VOLUME} holds no qubes.xml`);
  return { domains: parseQubesXml(xml.toString('utf8')), files };
}

/** --session, or the newest session of the named qubes if it is one session for all. */
export function chooseSession(run: QubesRun, directory: ArchiveDirectory): string {
  const { session } = run.options;
  if (session) {
    if (!directory.sessionQubes.has(session)) throw new QubesUsageError('No sessions match.');
    return session;
  }
  if (run.options.qubes.length === 0) throw new QubesUsageError('Please specify either a --session or qube names to restore.');
  const latest = latestCommonSession(directory, run.options.qubes);
  if (!latest) throw new QubesUsageError('Ambiguous VM session selection. Please use --session to choose a date-time.');
  return latest;
}

/** The qubes to act on, per wyng-util-qubes: the names given (those not in the session are errors), else all but --exclude. */
export function selectQubes(run: QubesRun, directory: ArchiveDirectory, session: string, backups: Map<string, QubesXmlDomain>) {
  const dispvms = new Set([...backups.values()].filter((d) => d.klass === 'DispVM').map((d) => d.name));
  const inSession = directory.sessionQubes.get(session) ?? new Set<string>();
  const available = new Set([...backups.keys()].filter((q) => q !== 'dom0' && (inSession.has(q) || dispvms.has(q))));
  let selected: string[];
  let notMatched: string[] = [];
  if (run.options.qubes.length > 0) {
    notMatched = run.options.qubes.filter((q) => !available.has(q));
    selected = run.options.qubes.filter((q) => available.has(q));
  } else {
    selected = [...available].filter((q) => (run.options.includeDisposable || !dispvms.has(q)) && !run.options.exclude.includes(q));
  }
  return { selected: restoreOrder(selected.map((q) => backups.get(q)!)), notMatched };
}

export async function restore(run: QubesRun): Promise<void> {
  const { host, options } = run;
  const directory = await readDirectory(run);
  const session = chooseSession(run, directory);
  const metadata = await sessionMetadata(run, session);
  const { selected, notMatched } = selectQubes(run, directory, session, metadata.domains);
  const errors: string[] = [...notMatched];
  run.print(`\nVMs matched in session ${session}:\n ${selected.map((d) => d.name).join(', ') || '(none)'}`);
  if (notMatched.length > 0) run.print(`\nNot matched:\n ${[...notMatched].sort().join(', ')}`);

  let live = await host.domains();
  const running = selected.filter((d) => (live.get(d.name)?.state ?? 'Halted') !== 'Halted');
  if (running.length > 0) {
    throw new QubesRefusal(`Refusing to restore over running VMs: ${running.map((d) => d.name).join(', ')}. Shut them down first.`);
  }
  const mismatched = selected.filter((d) => live.has(d.name) && live.get(d.name)!.klass !== d.klass);
  for (const d of mismatched) run.warn(`Class mismatch ${live.get(d.name)!.klass} vs ${d.klass} for qube named '${d.name}'.`);
  errors.push(...mismatched.map((d) => d.name));
  const toRestore = selected.filter((d) => !mismatched.includes(d));

  // Create what is missing, in dependency order, so that templates and netvms exist first.
  for (const backup of toRestore) {
    if (live.has(backup.name)) continue;
    try {
      const template = backup.klass === 'AppVM' || backup.klass === 'DispVM' ? (backup.properties['template'] ?? '') : '';
      await host.create(backup.klass, backup.name, backup.properties['label'] ?? 'red', template, options.pool);
      await host.addTag(backup.name, INCOMPLETE);
      run.print(` Created ${backup.klass} ${backup.name}`);
    } catch (error) {
      if (!(error instanceof QubesAdminError)) throw error;
      run.warn(`Error creating ${backup.name}: ${error.message}`);
      errors.push(backup.name);
    }
  }
  live = await host.domains();

  run.print('\nRestoring VM data volumes:');
  const pools = await host.pools();
  for (const backup of toRestore) {
    if (!live.has(backup.name) || backup.klass === 'DispVM') continue;
    await host.addTag(backup.name, INCOMPLETE);
    for (const kind of backedUpVolumes(backup.klass)) {
      const archived = directory.qubeVolumes.get(backup.name)?.get(session)?.get(kind);
      if (!archived) {
        run.warn(`Error: No ${kind} volume available for ${backup.klass} '${backup.name}'.`);
        errors.push(backup.name);
        continue;
      }
      const volume = await host.volume(backup.name, kind);
      const pool = pools.get(volume.pool);
      const local = pool?.driver === 'lvm_thin' ? volume.vid.slice(volume.vid.indexOf('/') + 1) : `${volume.vid}.img`;
      if (!pool || local !== archived) {
        run.warn(`Error: ${backup.name}'s ${kind} volume (${volume.vid} in ${volume.pool}) cannot be restored from ${archived} yet.`);
        errors.push(backup.name);
        continue;
      }
      const received = await run.skiff([
        ...skiffBaseArgs(options),
        '--force',
        `--session=${session}`,
        `--local=${pool.path}`,
        'receive',
        archived,
      ]);
      if (received.code !== 0) errors.push(backup.name);
    }
  }

  run.print('\nRestoring VM settings:');
  for (const backup of toRestore) {
    if (!live.has(backup.name)) continue;
    run.print(` ${backup.name}`);
    const failed = await restoreSettings(run, backup, live.get(backup.name)!, metadata.files);
    if (failed) errors.push(backup.name);
    if (!errors.includes(backup.name)) await host.removeTag(backup.name, INCOMPLETE);
  }
  if (errors.length > 0) throw new QubesVmErrors(errors);
}

/** --pref=NAME::x leaves NAME as it is. */
function prefExcludes(prefs: readonly string[]): Set<string> {
  return new Set(prefs.filter((p) => p.length > 4 && p.endsWith('::x')).map((p) => p.slice(0, -3)));
}

/** Prefs, features and tags as in the backup; returns true when something could not be set. */
async function restoreSettings(run: QubesRun, backup: QubesXmlDomain, live: LiveDomain, files: Map<string, Buffer>): Promise<boolean> {
  const { host } = run;
  const skip = prefExcludes(run.options.pref);
  let failed = false;
  const attempt = async (what: string, action: () => Promise<unknown>) => {
    try {
      await action();
    } catch (error) {
      if (!(error instanceof QubesAdminError)) throw error;
      run.warn(`Error setting ${backup.name} ${what}: ${error.message}`);
      failed = true;
    }
  };
  const label = backup.properties['label'];
  if (label && (await host.property(live.name, 'label')).value !== label)
    await attempt('label', () => host.setProperty(live.name, 'label', label));
  const names = new Set([...Object.keys(backup.properties), ...(await host.propertyNames(live.name))]);
  for (const name of [...names].sort()) {
    if (NOT_RESTORED.has(name) || skip.has(name)) continue;
    const current = await host.property(live.name, name).catch(() => null);
    if (!current) continue;
    if (name in backup.properties) {
      const wanted = backup.properties[name]!;
      if (current.isDefault || current.value !== wanted)
        await attempt(`${name} to '${wanted}'`, () => host.setProperty(live.name, name, wanted));
    } else if (!current.isDefault) {
      await attempt(`${name} to its default`, () => host.resetProperty(live.name, name));
    }
  }
  for (const [name, value] of Object.entries(backup.features))
    await attempt(`feature ${name}`, () => host.setFeature(live.name, name, value));
  for (const name of await host.features(live.name)) {
    if (!(name in backup.features)) await attempt(`feature ${name} (remove)`, () => host.removeFeature(live.name, name));
  }
  const firewallXml = files.get(firewallPath(backup.klass, backup.name));
  const rules = firewallXml ? firewallRules(firewallXml.toString('utf8')) : DEFAULT_FIREWALL;
  if ((await host.firewall(live.name)).join('\n') !== rules.join('\n')) await attempt('firewall', () => host.setFirewall(live.name, rules));
  const tags = await host.tags(live.name);
  for (const tag of backup.tags) if (!tags.includes(tag)) await attempt(`tag ${tag}`, () => host.addTag(live.name, tag));
  for (const tag of tags) {
    if (!backup.tags.includes(tag) && tag !== INCOMPLETE) await attempt(`tag ${tag} (remove)`, () => host.removeTag(live.name, tag));
  }
  return failed;
}
