// A STAND-IN for ssh, for the hostile-helper table: the agent starts "ssh ... 'exec node -e
// <loader> N'" and writes N bytes of helper code before the protocol; the stand-in swallows
// those N bytes and execs the FAKE helper (fake-helper.ts) in their place. Unlike qubes://,
// ssh:// has no fallback that would start the real helper after a bad hello.

import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FAKE_HELPER = fileURLToPath(new URL('./fake-helper.js', import.meta.url));

/** Writes the stand-in into `dir`/bin and returns that directory, to put first on PATH. */
export function installSshStandIn(dir: string): string {
  // GNU head -c reads no more than it is asked for, so the protocol bytes stay on stdin; exec
  // makes the agent's kill reach the fake helper itself.
  const script = `#!/bin/sh
# STAND-IN for ssh (test/hostile/ssh-stand-in.ts).
for last; do :; done
head -c "\${last##* }" >/dev/null || exit 255
exec '${process.execPath}' '${FAKE_HELPER}'
`;
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'ssh'), script);
  chmodSync(join(bin, 'ssh'), 0o755);
  return bin;
}
