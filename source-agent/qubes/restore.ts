// skiff-qubes restore: VMs as they were in one Qubes backup session. The session's qubes.xml
// (from the wyng-qubes-metadata tar) says what each VM was; a missing VM is created (templates
// and netvms first: restore-order.ts; in --pool, else Qubes' default pool). On a terminal without
// -u, restoring over existing VMs is asked first ("Continue [y/N]?", prompt.ts). Every VM's
// volumes come in ONE `skiff receive --force --sparse-write --use-snapshot --local-from=FILE`, each
// into the pool its VM's volume is in; then prefs, features, notes, device assignments
// (devices.ts) and tags are set as in the backup (those not in it reset or removed), and the
// firewall rules of its firewall.xml; last the app menus (dom0-tools.ts). A VM that is running is
// never touched: the whole restore is refused before anything changes. A VM is tagged
// `backup-restore-in-progress` until it is done.

import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExitCode } from '../errors.js';
import { QubesAdminError, QubesMetadataError, QubesRefusal, QubesUsageError, QubesVmErrors, SkiffStepError } from '../errors.js';
import { type ArchiveDirectory, latestCommonSession, parseArchiveDirectory } from './archive-directory.js';
import { qubesOfFailedVolumes } from './backup.js';
import { type DeviceRestore, restoreDevices } from './devices.js';
import { asDesktopUser, runSoftly } from './dom0-tools.js';
import { DEFAULT_FIREWALL, firewallPath, firewallRules } from './firewall.js';
import { readTarGz } from './metadata-tar.js';
import { Declined } from './prompt.js';
import type { LiveDomain } from './qubes-host.js';
import { type QubesRun, skiffBaseArgs } from './qubes-run.js';
import { beforeQubes43 } from './qubes-version.js';
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

/** The tag a VM carries while it is being restored (wyng-util-qubes' name). */
const INCOMPLETE = 'backup-restore-in-progress';

/** Where qubesd keeps a VM's notes, relative to /var/lib/qubes (as its firewall.xml). */
function notesPath(klass: string, name: string): string {
  return `${klass === 'TemplateVM' ? 'vm-templates' : 'appvms'}/${name}/notes.txt`;
}

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
  const existing = selected.filter((d) => live.has(d.name)).map((d) => d.name);
  if (!options.unattended && existing.length > 0) {
    run.print('\nWarning:  Restoring to existing VMs will overwrite them...');
    run.print(` ${existing.join(', ')}`);
    if (!(await run.ask('Continue [y/N]? '))) throw new Declined();
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

  await receiveVolumes(run, directory, session, toRestore, live, errors);

  const restored = toRestore.filter((d) => live.has(d.name) && !errors.includes(d.name));
  if (restored.length > 0) run.print('\nRestoring VM settings:');
  const devices: DeviceRestore = {
    host,
    legacy: beforeQubes43(run.qubesVersion),
    warn: run.warn,
    debug: (line) => options.debug && run.print(line),
  };
  for (const backup of restored) {
    run.print(` ${backup.name}`);
    const failed = await restoreSettings(run, backup, live.get(backup.name)!, metadata.files, devices);
    if (failed) errors.push(backup.name);
    if (!errors.includes(backup.name)) await host.removeTag(backup.name, INCOMPLETE);
    await updateAppMenus(run, backup);
  }
  if (errors.length > 0) throw new QubesVmErrors(errors);
}

/** The local name skiff receives a Qubes volume into: the LV (lvm_thin) or VID.img under the pool's directory. */
function localVolumeName(driver: string, vid: string): string {
  return driver === 'lvm_thin' ? vid.slice(vid.indexOf('/') + 1) : `${vid}.img`;
}

/**
 * Every selected VM's volumes in ONE skiff receive: a --local-from file
 * `{POOL PATH: [[ARCHIVE NAME, LOCAL NAME]]}` puts each volume into the pool the VM's volume is
 * in now (a VM created by this restore: --pool, or Qubes' default pool), under its local name
 * there (an lvm_thin archive name restored into a file-reflink pool, or the reverse, is an alias).
 * A VM with a volume missing from the session, or whose volume failed (skiff's `.error` file),
 * joins `errors` and gets no settings.
 */
async function receiveVolumes(
  run: QubesRun,
  directory: ArchiveDirectory,
  session: string,
  toRestore: readonly QubesXmlDomain[],
  live: Map<string, LiveDomain>,
  errors: string[],
): Promise<void> {
  const { host, options } = run;
  const pools = await host.pools();
  const sets = new Map<string, [string, string][]>();
  for (const backup of toRestore) {
    if (!live.has(backup.name) || backup.klass === 'DispVM' || errors.includes(backup.name)) continue;
    const archived = directory.qubeVolumes.get(backup.name)?.get(session);
    const kinds = backedUpVolumes(backup.klass);
    const hasRoot = backup.klass === 'TemplateVM' || backup.klass === 'StandaloneVM';
    if (kinds.some((kind) => !archived?.get(kind))) {
      run.warn(`Incomplete volume list for ${backup.klass} '${backup.name}' in session ${session}.`);
      if (!hasRoot || !options.forceIncomplete) {
        run.print(`Skipping ${backup.name}`);
        errors.push(backup.name);
        continue;
      }
    }
    await host.addTag(backup.name, INCOMPLETE);
    for (const kind of kinds.filter((k) => archived?.get(k))) {
      const volume = await host.volume(backup.name, kind);
      const pool = pools.get(volume.pool);
      if (!pool) {
        run.warn(`Error: ${backup.name}'s ${kind} volume is in pool '${volume.pool}', which is neither lvm_thin nor file-reflink.`);
        errors.push(backup.name);
        continue;
      }
      if (!sets.has(pool.path)) sets.set(pool.path, []);
      sets.get(pool.path)!.push([archived!.get(kind)!, localVolumeName(pool.driver, volume.vid)]);
    }
  }
  if (sets.size === 0) return;
  run.print('\nRestoring VM data volumes:');
  const setsPath = join(run.scratch, 'vols.json');
  writeFileSync(setsPath, JSON.stringify(Object.fromEntries(sets)), { mode: 0o600 });
  const args = [...skiffBaseArgs(options), '--force', '--sparse-write', `--local-from=${setsPath}`, `--session=${session}`];
  if (options.verbose || !options.unattended) args.push('--verbose');
  if (!options.noSnapshotRestore) args.push('--use-snapshot');
  const received = await run.skiff([...args, 'receive']);
  if (received.code === 2) errors.push(...qubesOfFailedVolumes(`${setsPath}.error`));
  else if (received.code !== 0) throw new SkiffStepError('skiff receive failed.', received.code as ExitCode);
}

/**
 * App menus after a restore, as wyng-util-qubes: a template or standalone is started, its menus
 * synced (`qvm-sync-appmenus`) and shut down again (unless --no-qubes-post); then every VM's
 * menus are updated (`qvm-appmenus --update`). Never fails the restore (dom0-tools.ts).
 */
async function updateAppMenus(run: QubesRun, backup: QubesXmlDomain): Promise<void> {
  const { host } = run;
  const soft = async (argv: string[]) => {
    const why = await runSoftly(argv, run.env);
    if (why) run.warn(`Warning: ${why}`);
  };
  if ((backup.klass === 'TemplateVM' || backup.klass === 'StandaloneVM') && !run.options.noQubesPost) {
    run.print(` Running qvm-sync-appmenus for ${backup.name}`);
    try {
      await host.start(backup.name);
      await soft(asDesktopUser('qvm-sync-appmenus', backup.name));
      await host.shutdown(backup.name);
    } catch (error) {
      if (!(error instanceof QubesAdminError)) throw error;
      run.warn(`Warning: qvm-sync-appmenus for ${backup.name}: ${error.message}`);
    }
  }
  await soft(asDesktopUser('qvm-appmenus', '--update', backup.name));
}

/** --pref=NAME::x leaves NAME as it is. */
function prefExcludes(prefs: readonly string[]): Set<string> {
  return new Set(prefs.filter((p) => p.length > 4 && p.endsWith('::x')).map((p) => p.slice(0, -3)));
}

/** Prefs, features and tags as in the backup; returns true when something could not be set. */
async function restoreSettings(
  run: QubesRun,
  backup: QubesXmlDomain,
  live: LiveDomain,
  files: Map<string, Buffer>,
  devices: DeviceRestore,
): Promise<boolean> {
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
  // notes.txt as in the backup (none: no notes), Qubes >= 4.2's admin.vm.notes.Set.
  const notes = files.get(notesPath(backup.klass, backup.name))?.toString('utf8') ?? '';
  if ((await host.notes(live.name).catch(() => notes)) !== notes) await attempt('notes', () => host.setNotes(live.name, notes));
  if (await restoreDevices(devices, live.name, backup.devices)) failed = true;
  const tags = await host.tags(live.name);
  for (const tag of backup.tags) if (!tags.includes(tag)) await attempt(`tag ${tag}`, () => host.addTag(live.name, tag));
  for (const tag of tags) {
    if (!backup.tags.includes(tag) && tag !== INCOMPLETE) await attempt(`tag ${tag} (remove)`, () => host.removeTag(live.name, tag));
  }
  return failed;
}
