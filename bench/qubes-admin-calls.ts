// Admin API socket vs `qvm-*` processes: the cost of one question to qubesd, by hand.
//
//   npm run build && node dist/bench/qubes-admin-calls.js [calls, default 200]
//
// A restore asks qubesd a few dozen questions per VM (each property's value and default, tags,
// features). Through the Admin API socket each is one connection (admin-client.ts); through the
// `qvm-*` tools each is a Python process that imports qubesadmin. Neither qubesd nor qubesadmin
// runs here, so this measures: (1) calls to the Qubes model's socket server (test/qubes-model; the
// model answers from memory, as qubesd does for property reads), and (2) the floor of a `qvm-*`
// call: starting `python3 -c "import asyncio, argparse, xml.etree.ElementTree, subprocess"`, the
// standard modules qubesadmin imports before any of its own code. The real qvm-prefs costs more.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminClient } from '../source-agent/qubes/admin-client.js';
import { startQubesModel } from '../test/qubes-model/harness.js';

const calls = Number(process.argv[2] ?? 200);
const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-qubes-'));
const host = await startQubesModel(dir, { withVolumes: [] });
try {
  const admin = new AdminClient(host.env['SKIFF_QUBESD_SOCKET']!);
  let start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await admin.call('admin.vm.property.Get', 'work', 'memory');
  const socketMs = Number(process.hrtime.bigint() - start) / 1e6 / calls;
  const processes = Math.min(calls, 30);
  start = process.hrtime.bigint();
  for (let i = 0; i < processes; i++)
    spawnSync('python3', ['-c', 'import asyncio, argparse, xml.etree.ElementTree, subprocess'], { stdio: 'ignore' });
  const processMs = Number(process.hrtime.bigint() - start) / 1e6 / processes;
  process.stdout.write(`Admin API socket call (model): ${socketMs.toFixed(2)} ms each (${calls} calls)\n`);
  process.stdout.write(
    `python3 start with qubesadmin's standard imports (floor of a qvm-* call): ${processMs.toFixed(1)} ms each (${processes} runs)\n`,
  );
} finally {
  await host.close();
  rmSync(dir, { recursive: true, force: true });
}
