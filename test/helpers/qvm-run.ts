// A STAND-IN for Qubes' qvm-run, for tests on a machine without Qubes (no qrexec here). Put its
// directory first on PATH. It appends its argv (one JSON array per line) to $QVM_RUN_LOG, then
// runs the shell command locally; with --service it runs `node $QVM_SERVICE_HELPER` (the
// "installed" service), or refuses like a qube without the service when that is unset.

import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function installQvmRunStandIn(dir: string): { bin: string; calls: (log: string) => string[][] } {
  const script = `#!${process.execPath}
// STAND-IN for Qubes' qvm-run (test/helpers/qvm-run.ts).
const { appendFileSync } = require('node:fs');
const { spawnSync } = require('node:child_process');
const args = process.argv.slice(2);
if (process.env.QVM_RUN_LOG) appendFileSync(process.env.QVM_RUN_LOG, JSON.stringify(args) + '\\n');
const rest = args.filter((a) => !a.startsWith('-'));
const [vm, command] = rest;
if (!vm || !command) { console.error('qvm-run stand-in: missing vm or command'); process.exit(2); }
if (args.includes('--service')) {
  if (!process.env.QVM_SERVICE_HELPER) { console.error('Request refused'); process.exit(126); }
  const r = spawnSync(process.execPath, [process.env.QVM_SERVICE_HELPER], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
const r = spawnSync('sh', ['-c', command], { stdio: 'inherit' });
process.exit(r.status ?? 1);
`;
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'qvm-run'), script);
  chmodSync(join(bin, 'qvm-run'), 0o755);
  return {
    bin,
    calls: (log) => {
      try {
        return readFileSync(log, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as string[]);
      } catch {
        return [];
      }
    },
  };
}
