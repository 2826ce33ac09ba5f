// skiff-qubes' command line: wyng-util-qubes' actions and options (its own parser is argparse;
// these are the same spellings), and the skiff options passed on to each skiff run.

import { QubesUsageError } from '../errors.js';

export const ACTIONS = ['backup', 'restore', 'verify', 'prune', 'delete', 'list'] as const;
export type Action = (typeof ACTIONS)[number];

export interface QubesOptions {
  action: Action;
  qubes: string[];
  dest?: string;
  authmin?: string;
  session?: string;
  dedup: boolean;
  includes: boolean;
  exclude: string[];
  autoprune?: string;
  allBefore: boolean;
  all: boolean;
  pref: string[];
  poolInfo: boolean;
  pool?: string;
  /** `-w OPT`: passed to skiff as `--OPT`. */
  skiffOptions: string[];
  noAutoRename: boolean;
  includeDisposable: boolean;
  unattended: boolean;
  verbose: boolean;
  debug: boolean;
  metaDir?: string;
  noSnapshotRestore: boolean;
  /** restore: no qvm-sync-appmenus for templates and standalones. */
  noQubesPost: boolean;
  /** restore: a template or standalone with a volume missing from the session is restored from what there is. */
  forceIncomplete: boolean;
  /** backup: `skiff --session=newest arch-check` after the send. */
  checkAfterSend: boolean;
  remap: boolean;
  help: boolean;
}

const VALUE = new Set([
  '--local',
  '--dest',
  '--authmin',
  '--session',
  '--exclude',
  '--autoprune',
  '--pref',
  '--pool',
  '-p',
  '-w',
  '--include-disposable',
  '--meta-dir',
]);

export const USAGE = `usage: skiff-qubes ACTION [options] [QUBE ...]

Back up and restore Qubes VMs (volumes and settings) with Skiff, in archives
compatible with wyng-util-qubes.

actions: backup, restore, list, verify, prune, delete

  --dest=URL              the archive (as for skiff)
  --session=YYYYMMDD-HHMMSS
                          the session to restore or list
  -i, --includes          backup: also the VMs marked include_in_backups
  --exclude=QUBE          backup/restore: leave this VM out (repeatable)
  -d, --dedup             backup: deduplicate chunks
  --autoprune=off|on|full backup: prune to make room
  --remap                 backup: take over volumes whose snapshot is another archive's
  --check-after-send      backup: check the new session (skiff arch-check)
  -p, --pool=POOL         restore: the Qubes pool for VMs that must be created
  --pref=PROP::x          restore: leave this property as it is (repeatable)
  --no-snapshot-restore   restore: do not start from the volumes' local snapshots
  --no-qubes-post         restore: no qvm-sync-appmenus for templates/standalones
  --force-incomplete      restore: a template/standalone with a volume missing too
  --all                   list: every VM and session; prune: passed on
  --all-before            prune: every session before --session
  --pool-info             list: the local storage pools
  --include-disposable=on|off
  -w OPT                  pass --OPT to skiff
  -u, --unattended        ask nothing (restore over existing VMs, delete);
                          also when stdin is not a terminal
  --meta-dir=DIR, --authmin=N, --verbose, --debug
`;

export function parseQubesArgs(argv: readonly string[]): QubesOptions {
  const options: QubesOptions = {
    action: 'list',
    qubes: [],
    dedup: false,
    includes: false,
    exclude: [],
    allBefore: false,
    all: false,
    pref: [],
    poolInfo: false,
    skiffOptions: [],
    noAutoRename: false,
    includeDisposable: false,
    unattended: false,
    verbose: false,
    debug: false,
    noSnapshotRestore: false,
    noQubesPost: false,
    forceIncomplete: false,
    checkAfterSend: false,
    remap: false,
    help: false,
  };
  let action: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (!word.startsWith('-') || word === '-') {
      if (action === undefined) action = word;
      else options.qubes.push(word);
      continue;
    }
    const eq = word.indexOf('=');
    const name = eq === -1 ? word : word.slice(0, eq);
    let value: string | undefined = eq === -1 ? undefined : word.slice(eq + 1);
    if (VALUE.has(name) && value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new QubesUsageError(`skiff-qubes: ${name} needs a value`);
    } else if (!VALUE.has(name) && value !== undefined) throw new QubesUsageError(`skiff-qubes: ${name} takes no value`);
    const v = value ?? '';
    switch (name) {
      case '--dest':
        options.dest = v;
        break;
      case '--authmin':
        options.authmin = v;
        break;
      case '--session':
        options.session = v;
        break;
      case '--exclude':
        options.exclude.push(v);
        break;
      case '--autoprune':
        options.autoprune = v;
        break;
      case '--pref':
        options.pref.push(v);
        break;
      case '--pool':
      case '-p':
        options.pool = v;
        break;
      case '-w':
        options.skiffOptions.push(`--${v}`);
        break;
      case '--include-disposable':
        if (v !== 'on' && v !== 'off') throw new QubesUsageError("skiff-qubes: --include-disposable takes 'on' or 'off'");
        options.includeDisposable = v === 'on';
        break;
      case '--meta-dir':
        options.metaDir = v;
        break;
      case '--dedup':
      case '-d':
        options.dedup = true;
        break;
      case '--includes':
      case '-i':
        options.includes = true;
        break;
      case '--all-before':
        options.allBefore = true;
        break;
      case '--all':
        options.all = true;
        break;
      case '--pool-info':
        options.poolInfo = true;
        break;
      case '--no-auto-rename':
        options.noAutoRename = true;
        break;
      case '--unattended':
      case '-u':
        options.unattended = true;
        break;
      case '--verbose':
        options.verbose = true;
        break;
      case '--debug':
        options.debug = true;
        break;
      case '--no-snapshot-restore':
        options.noSnapshotRestore = true;
        break;
      case '--remap':
        options.remap = true;
        break;
      case '--no-qubes-post':
        options.noQubesPost = true;
        break;
      case '--force-incomplete':
        options.forceIncomplete = true;
        break;
      case '--check-after-send':
        options.checkAfterSend = true;
        break;
      case '--help':
      case '-h':
        options.help = true;
        break;
      case '--local':
        throw new QubesUsageError('Please use --pool instead of --local');
      default:
        throw new QubesUsageError(`skiff-qubes: unknown option ${name}`);
    }
  }
  if (options.help) return options;
  if (action === undefined) throw new QubesUsageError('skiff-qubes: no action given (backup, restore, list, verify, prune, delete)');
  const found = ACTIONS.find((a) => a === action.toLowerCase());
  if (!found) throw new QubesUsageError(`skiff-qubes: unknown action '${action}' (backup, restore, list, verify, prune, delete)`);
  options.action = found;
  if (options.all && found !== 'list' && found !== 'prune') throw new QubesUsageError('--all may only be used with list or prune.');
  return options;
}
