// How each destination type starts the helper (behavior spec §8.1 for the option lists):
//   ssh://user@host[:port][/path]        ssh <ssh options> ssh://user@host[:port] '<loader>'
//   qubes://vm[/path]                    qvm-run <qubes options> --pass-io --service vm skiff.DestHelper
//                                        (installed from qubes-rpc/), else the loader through qvm-run
//   qubes-ssh://vm:user@host[:port][/path]   the ssh command above, run inside vm by qvm-run
// The archive path is not part of any command: it travels in the protocol's hello.

import { uploadCommand } from './helper-upload.js';
import { REMOTE_CONTROL_DIR_SHELL } from './ssh-control-dir.js';

/** ssh's ControlPath for the built-in options: a socket per connection, in `dir`. */
export function controlPath(dir: string): string {
  return `${dir}/ctrl-%C`;
}

/** The ciphers the built-in options offer, in order of preference. */
export const SSH_CIPHERS: readonly string[] = [
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'chacha20-poly1305@openssh.com',
  'aes128-ctr',
  'aes192-ctr',
  'aes256-ctr',
];

/** The built-in ssh options (behavior spec §8.1), the shared connection's socket in `controlDir`. */
export function defaultSshOptions(controlDir: string): string[] {
  return [
    '-x',
    '-T',
    '-e',
    'none',
    '-o',
    `ControlPath=${controlPath(controlDir)}`,
    '-o',
    'ControlMaster=auto',
    '-o',
    'ControlPersist=300',
    '-o',
    'ServerAliveInterval=120',
    '-o',
    'ConnectTimeout=60',
    '-o',
    'Compression=no',
    // OpenSSH's default set, AES-GCM first: chunks are already encrypted, and with the CPU's AES
    // instructions GCM costs ssh ~40% less CPU than chacha20-poly1305, OpenSSH's first choice
    // (bench/ssh-cipher.ts), CPU the send's workers share. A server without GCM still agrees on one.
    '-o',
    `Ciphers=${SSH_CIPHERS.join(',')}`,
  ];
}

export const DEFAULT_QUBES_OPTIONS: readonly string[] = ['--no-color-stderr', '--no-color-output', '--nogui', '--no-filter-escape-chars'];

/** The qrexec service qubes-rpc/ installs in a destination qube. */
export const QREXEC_SERVICE = 'skiff.DestHelper';

export interface CarrierOptions {
  /** --opt-ssh values; they replace the defaults when given. */
  sshOptions: readonly string[];
  /** Where the built-in options keep ssh's control socket (transport/ssh-control-dir.ts). */
  sshControlDir?: string;
  /** --opt-qubes values; they replace the defaults when given. */
  qubesOptions: readonly string[];
}

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./=:@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function sshOptions(options: CarrierOptions): readonly string[] {
  if (options.sshOptions.length > 0) return options.sshOptions;
  if (options.sshControlDir === undefined) throw new Error('the built-in ssh options need a control directory');
  return defaultSshOptions(options.sshControlDir);
}

/** Stands for "$d" (the directory REMOTE_CONTROL_DIR_SHELL makes) until the command is quoted. */
const REMOTE_DIR_MARK = '\0skiff-remote-control-dir\0';

function qubesOptions(options: CarrierOptions): readonly string[] {
  return options.qubesOptions.length > 0 ? options.qubesOptions : DEFAULT_QUBES_OPTIONS;
}

/** ssh://user@host[:port]: argv that runs the uploaded helper there. */
export function sshArgv(authority: string, helperBytes: number, options: CarrierOptions): string[] {
  return ['ssh', ...sshOptions(options), `ssh://${authority}`, uploadCommand(helperBytes)];
}

/** qubes://vm with the installed qrexec service. */
export function qubesServiceArgv(vm: string, options: CarrierOptions): string[] {
  return ['qvm-run', ...qubesOptions(options), '--pass-io', '--service', vm, QREXEC_SERVICE];
}

/** qubes://vm without the service: the uploaded helper through qvm-run. */
export function qubesUploadArgv(vm: string, helperBytes: number, options: CarrierOptions): string[] {
  return ['qvm-run', ...qubesOptions(options), '--pass-io', vm, uploadCommand(helperBytes)];
}

/** qubes-ssh://vm:user@host[:port]: ssh from inside vm to the host, running the uploaded helper. */
export function qubesSshArgv(authority: string, helperBytes: number, options: CarrierOptions): string[] {
  const colon = authority.indexOf(':');
  const vm = authority.slice(0, colon);
  const remote = authority.slice(colon + 1);
  // The built-in options keep ssh's control socket in a private directory made inside the qube.
  const builtIn = options.sshOptions.length === 0;
  const words = sshArgv(remote, helperBytes, builtIn ? { ...options, sshControlDir: REMOTE_DIR_MARK } : options);
  const ssh = words
    .map((word) => (word.includes(REMOTE_DIR_MARK) ? `"${word.replace(REMOTE_DIR_MARK, '$d')}"` : shellQuote(word)))
    .join(' ');
  return ['qvm-run', ...qubesOptions(options), '--pass-io', vm, builtIn ? `${REMOTE_CONTROL_DIR_SHELL}${ssh}` : ssh];
}
