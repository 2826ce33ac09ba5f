// Which Qubes release dom0 runs, from /etc/os-release's VERSION_ID (what wyng-util-qubes reads):
// the device API changed in 4.3 (assign/unassign with a mode, instead of persistent attach).
// SKIFF_QUBES_OS_RELEASE names another file (tests: the Qubes model). Unreadable or without a
// version: 4.3, the release skiff-qubes is made for.

import { readFileSync } from 'node:fs';

export const OS_RELEASE = '/etc/os-release';

export function qubesVersion(env: NodeJS.ProcessEnv): [number, number] {
  let text = '';
  try {
    text = readFileSync(env['SKIFF_QUBES_OS_RELEASE'] || OS_RELEASE, 'utf8');
  } catch {
    return [4, 3];
  }
  const match = /^VERSION_ID="?([0-9]+)\.([0-9]+)/m.exec(text);
  return match ? [Number(match[1]), Number(match[2])] : [4, 3];
}

export function beforeQubes43(version: readonly [number, number]): boolean {
  return version[0] < 4 || (version[0] === 4 && version[1] < 3);
}
