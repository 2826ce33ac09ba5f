#!/usr/bin/env node
// Stand-in for dmsetup (message … reserve/release_metadata_snap, status) over the LVM thin-pool
// model; the kernel side is modelled. State: $SKIFF_LVM_MODEL_DIR.

import { runDmsetup } from '../dm-commands.js';
import { standIn } from './main.js';

standIn((dir, state) => runDmsetup(dir, state, process.argv.slice(2)), '');
