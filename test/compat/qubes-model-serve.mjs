// Serves the Qubes model (test/qubes-model) for a by-hand shell script until SIGTERM/SIGINT:
// the LVM thin-pool model, the seed qubes.xml and qubesd's Admin API on WORKDIR/qubesd.sock.
// Writes the environment a client needs (socket, /var/lib/qubes, LVM stand-ins on PATH, VG) as
// shell assignments to WORKDIR/model.env, then "ready" on stdout. On exit it removes the VG,
// the loop devices and the socket. Needs `npm run build` and root. Qubes is modelled.
//
//   node test/compat/qubes-model-serve.mjs WORKDIR [PRIVATE_BYTES]

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startQubesModel } from '../../dist/test/qubes-model/harness.js';

const [workDir, privateBytes] = process.argv.slice(2);
if (!workDir) {
  process.stderr.write('usage: node test/compat/qubes-model-serve.mjs WORKDIR [PRIVATE_BYTES]\n');
  process.exit(2);
}
const host = await startQubesModel(workDir, { privateSize: Number(privateBytes ?? 4 * 1024 * 1024) });
const quoted = (value) => `'${String(value).replaceAll("'", "'\\''")}'`;
const env = {
  SKIFF_QUBESD_SOCKET: host.env.SKIFF_QUBESD_SOCKET,
  SKIFF_QUBES_DIR: host.env.SKIFF_QUBES_DIR,
  SKIFF_LVM_MODEL_DIR: host.env.SKIFF_LVM_MODEL_DIR,
  PATH: host.env.PATH,
  VG: host.vg,
};
writeFileSync(
  join(workDir, 'model.env'),
  Object.entries(env)
    .map(([k, v]) => `${k}=${quoted(v)}\n`)
    .join(''),
);
let closing = false;
const stop = async () => {
  if (closing) return;
  closing = true;
  await host.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdout.write('ready\n');
