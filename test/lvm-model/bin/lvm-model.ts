#!/usr/bin/env node
// The test side of the LVM thin-pool model: write or discard through the model so that the block
// mapping follows the data (the kernel side is modelled), show the state, tear down devices.
//   lvm-model write VG/LV OFFSET FILE|-     write FILE's bytes at byte OFFSET
//   lvm-model discard VG/LV OFFSET LENGTH   unmap whole blocks inside the range, zero the bytes
//   lvm-model show                          the state as JSON
//   lvm-model teardown                      detach loop devices, remove /dev/VG links (state kept)

import { readFileSync } from 'node:fs';
import { modelDiscard, modelTeardown, modelWrite } from '../model.js';
import { modelDir, readState } from '../state.js';

const [command, ...args] = process.argv.slice(2);
try {
  const dir = modelDir();
  if (command === 'write' && args.length === 3) {
    modelWrite(dir, args[0] as string, Number(args[1]), readFileSync(args[2] === '-' ? 0 : (args[2] as string)));
  } else if (command === 'discard' && args.length === 3) {
    modelDiscard(dir, args[0] as string, Number(args[1]), Number(args[2]));
  } else if (command === 'show' && args.length === 0) {
    process.stdout.write(`${JSON.stringify(readState(dir), null, 1)}\n`);
  } else if (command === 'teardown' && args.length === 0) {
    modelTeardown(dir);
  } else {
    process.stderr.write('usage: lvm-model write VG/LV OFFSET FILE|- | discard VG/LV OFFSET LENGTH | show | teardown\n');
    process.exitCode = 3;
  }
} catch (e) {
  process.stderr.write(`lvm-model: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
