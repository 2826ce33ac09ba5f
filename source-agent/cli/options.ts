// Skiff's options: one place for their clipanion definitions and for the facts the argv and
// config-file handling need (which options take a value, which can repeat). Names and meanings
// follow Wyng's (behavior spec §1.4), so wrapper scripts and wyng.ini files carry over.

import { Option } from 'clipanion';

/** Every long option Wyng 0.8 knows, by kind; config-file keys are checked against this. */
export const WYNG_OPTIONS = {
  value: [
    'dest',
    'local',
    'authmin',
    'session',
    'session-strict',
    'volume-desc',
    'autoprune',
    'apdays',
    'save-to',
    'vols-from',
    'encrypt',
    'compression',
    'hashtype',
    'chunk-factor',
    'vid',
    'passcmd',
    'config',
    'meta-dir',
    'meta-reduce',
    'purge',
  ],
  list: ['tag', 'keep', 'volex', 'import-other-from', 'vouch', 'opt-ssh', 'opt-qubes'],
  flag: [
    'unattended',
    'all',
    'all-before',
    'dedup',
    'sparse',
    'sparse-write',
    'skip-corrupt-chunks',
    'use-snapshot',
    'use-snapshot-diff',
    'req-snapshot',
    'remap',
    'send-unchanged',
    'json',
    'quick',
    'force',
    'force-retry',
    'force-allow-rollback',
    'clean',
    'maxsync',
    'upgrade-format',
    'tar-bypass',
    'change-uuid',
    'dry-run',
    'purge-tmp',
    'debug',
    'quiet',
  ],
  count: ['verbose'],
} as const;

/** Aliases Wyng accepts for some long options. */
export const OPTION_ALIASES: Record<string, string> = { 'local-from': 'vols-from' };

/** Options that consume the next argument when written as `--opt value`. */
export const VALUE_OPTIONS: ReadonlySet<string> = new Set([...WYNG_OPTIONS.value, ...WYNG_OPTIONS.list, 'local-from']);

/** Config-file keys Wyng reads but deliberately ignores (behavior spec §1.6). */
export const CONFIG_IGNORED = new Set([
  'config',
  'debug',
  'force',
  'save-to',
  'session',
  'unattended',
  'volume-desc',
  'tag',
  'all',
  'all-before',
  'vols-from',
  'import-other-from',
  'upgrade-format',
  'help',
  'skip-corrupt-chunks',
  'force-retry',
]);

/** What a value option's help shows after `=`; every value option of every command needs one. */
export const PLACEHOLDERS: Readonly<Record<string, string>> = {
  dest: 'URL',
  config: 'FILE',
  passcmd: 'CMD',
  'meta-dir': 'DIR',
  authmin: 'MINUTES',
  'opt-ssh': 'OPT',
  'opt-qubes': 'OPT',
  local: 'DIR',
  volex: 'VOLUME',
  'import-other-from': 'VOLUME:|:PATH',
  tag: 'TAG',
  autoprune: 'off|on|full',
  apdays: 'A:B:C:D',
  vouch: 'FACTOR',
  session: 'SESSION',
  'session-strict': 'on|off',
  'save-to': 'PATH',
  vid: 'VID',
  purge: 'full|other',
  keep: 'SESSION',
  'volume-desc': 'TEXT',
  encrypt: 'CIPHER',
  compression: 'ALGO[:LEVEL]',
  hashtype: 'HASH',
  'chunk-factor': 'N',
  'meta-reduce': 'MODE:MINUTES',
  'vols-from': 'JSON',
  'local-from': 'JSON',
};

// Clipanion definitions shared by the commands.

export const destOption = () =>
  Option.String('--dest', {
    description: 'Archive location: file:/path, ssh://user@host[:port][/path], qubes://vm[/path] or qubes-ssh://vm:user@host[:port][/path]',
  });
export const optSshOption = () =>
  Option.Array('--opt-ssh', [], { description: 'An ssh option (one argv element; repeatable); replaces the built-in list' });
export const optQubesOption = () =>
  Option.Array('--opt-qubes', [], { description: 'A qvm-run option (one argv element; repeatable); replaces the built-in list' });

export const localOption = () =>
  Option.String('--local', {
    description: 'Local volume storage: an LVM thin pool VG/POOL, a Btrfs subvolume, or a reflink file system vouched for with --vouch',
  });
export const configOption = () => Option.String('--config', { description: 'Config file instead of /etc/skiff/skiff.ini' });
export const passcmdOption = () => Option.String('--passcmd', { description: 'Command whose output is the passphrase' });
export const unattendedOption = () =>
  Option.Boolean('-u,--unattended', false, { description: 'Never prompt (also when stdin is not a terminal)' });
export const quietOption = () => Option.Boolean('--quiet', false, { description: 'Print only errors' });
export const verboseOption = () => Option.Counter('--verbose', 0, { description: 'More detail' });
export const debugOption = () => Option.Boolean('--debug', false, { description: 'Show internal details, such as stack traces of errors' });
export const allOption = () => Option.Boolean('-a,--all', false, { description: 'All volumes in the archive' });
export const volexOption = () => Option.Array('--volex', [], { description: 'Exclude this volume from --all (repeatable)' });
export const sessionOption = (description: string) => Option.String('--session', { description });
export const sessionStrictOption = () =>
  Option.String('--session-strict', 'on', { description: "off: use the newest session older than --session if it doesn't exist" });
export const forceOption = () => Option.Boolean('--force', false, { description: 'Do not ask for confirmation' });
export const volumesRest = () => Option.Rest({ name: 'volumes' });
export const metaDirOption = () => Option.String('--meta-dir', { description: 'Directory for local state (default /var/lib/skiff)' });
export const acceptNewArchiveOption = () =>
  Option.Boolean('--accept-new-archive', false, {
    description: 'Accept that the archive at --dest was replaced (another uuid, cipher or no encryption) and remember the new one',
  });
export const forceAllowRollbackOption = () =>
  Option.Boolean('--force-allow-rollback', false, { description: 'Accept an archive older than the one this machine last saw (caution)' });
export const volsFromOption = () =>
  Option.String('--vols-from,--local-from', {
    description: 'JSON file of volume sets, one per local storage: {"LOCAL": [["VOLUME", ALIAS or null], ...], ...}',
  });
