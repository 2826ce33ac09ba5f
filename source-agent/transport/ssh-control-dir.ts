// Where ssh keeps the socket of a shared connection (ControlPath) for the built-in ssh options.
// Not ~/.ssh: on a machine that never used ssh it does not exist and ssh cannot bind the socket
// there (Wyng has the same bug), and creating it would change the user's ssh set-up. Instead a
// private runtime directory of Skiff's own, like the key agent's: $XDG_RUNTIME_DIR (or the temp
// directory)/skiff-ssh-<uid>, mode 0700, refused unless it is a real directory owned by this user
// and closed to others (someone else could otherwise plant a socket we would connect through).

import { lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errnoOf } from '../../protocol/thrown.js';
import { describeError, FatalError } from '../errors.js';

/** The directory, created if missing; throws a FatalError when it is not safe to use. */
export function sshControlDir(env: NodeJS.ProcessEnv = process.env): string {
  const uid = process.getuid?.() ?? 0;
  const dir = join(env['XDG_RUNTIME_DIR'] || tmpdir(), `skiff-ssh-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if (errnoOf(error) !== 'EEXIST') {
      throw new FatalError(`Cannot create the ssh control directory '${dir}': ${describeError(error)}`);
    }
  }
  const stats = lstatSync(dir);
  if (!stats.isDirectory() || stats.uid !== uid || (stats.mode & 0o077) !== 0) {
    throw new FatalError(`Unsafe ssh control directory '${dir}': it must be a directory of this user with mode 0700.`);
  }
  return dir;
}

/**
 * The same for ssh run inside a qube (qubes-ssh://): shell code that makes the directory there
 * and sets $d to it, or stops with ssh's own exit code for a failed connection.
 */
export const REMOTE_CONTROL_DIR_SHELL =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell code, expanded by the qube's shell
  'd="${XDG_RUNTIME_DIR:-/tmp}/skiff-ssh-$(id -u)"; mkdir -m 700 "$d" 2>/dev/null; ' +
  'if [ -h "$d" ] || [ ! -O "$d" ] || [ "$(stat -c %a "$d")" != 700 ]; then echo "unsafe ssh control directory $d" >&2; exit 255; fi; ';
