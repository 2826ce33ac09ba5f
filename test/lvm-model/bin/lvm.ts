#!/usr/bin/env node
// Stand-in for /usr/sbin/lvm on a machine without device-mapper: the LVM thin-pool model
// (test/lvm-model). The kernel side is modelled; see ../pool.ts. State: $SKIFF_LVM_MODEL_DIR.

import { runLvm } from '../lvm-commands.js';
import { standIn } from './main.js';

standIn((dir, state) => runLvm(dir, state, process.argv.slice(2)));
