#!/usr/bin/env node
// Wrapper for thin_delta over the LVM thin-pool model: drops --metadata-snap, points the real
// /usr/sbin/thin_delta at the metadata the model built with thin_restore on reserve_metadata_snap
// (the kernel's metadata snapshot is modelled). Without $SKIFF_LVM_MODEL_DIR it passes through.

import { execThinDelta, planThinDelta } from '../dm-commands.js';
import { ModelError, withState } from '../state.js';

const argv = process.argv.slice(2);
const dir = process.env['SKIFF_LVM_MODEL_DIR'];
try {
  const plan = dir ? withState(dir, (state) => planThinDelta(dir, state, argv)) : argv;
  process.exitCode = typeof plan === 'number' ? plan : await execThinDelta(plan);
} catch (e) {
  process.stderr.write(`thin_delta: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = e instanceof ModelError ? e.status : 1;
}
