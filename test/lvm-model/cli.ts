// The stand-in commands of the LVM thin-pool model, behind one entry point: test/lvm-model/bin/<name>
// (small sh scripts put first on PATH) run `node dist/test/lvm-model/cli.js <name> ARGS…`. The
// kernel side is modelled (see pool.ts); state lives in $SKIFF_LVM_MODEL_DIR.
//
//   lvm …                 LVM's subcommands on the model (lvm-commands.ts, report.ts)
//   dmsetup …             message … reserve/release_metadata_snap, status (dm-commands.ts)
//   thin_delta …          the REAL thin_delta on the model's metadata (dm-commands.ts)
//   lvm-model write VG/LV OFFSET FILE|-    write through the model so the mapping follows the data
//   lvm-model discard VG/LV OFFSET LENGTH  unmap whole blocks inside the range, zero the bytes
//   lvm-model show | teardown              the state as JSON | detach loop devices, remove /dev links
//
// Without a command name it does nothing: the test runner executes every .js under dist/test.

import { readFileSync } from 'node:fs';
import { execThinDelta, planThinDelta, runDmsetup } from './dm-commands.js';
import { runLvm } from './lvm-commands.js';
import { modelDiscard, modelTeardown, modelWrite } from './model.js';
import { ModelError, type ModelState, modelDir, readState, withState } from './state.js';

/** Runs a state-changing stand-in; a ModelError becomes LVM-style stderr and its exit status. */
function standIn(run: (dir: string, state: ModelState) => string, indent: string): void {
  try {
    const dir = modelDir();
    process.stdout.write(withState(dir, (state) => run(dir, state)));
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(
      `${message
        .split('\n')
        .map((l) => `${indent}${l}`)
        .join('\n')}\n`,
    );
    process.exitCode = e instanceof ModelError ? e.status : 5;
  }
}

async function thinDelta(argv: string[]): Promise<void> {
  // `-V` answers like the real tool (which it runs), or as an older/newer one for version tests.
  const version = process.env['SKIFF_LVM_MODEL_THIN_DELTA_VERSION'];
  if (version !== undefined && argv.length === 1 && (argv[0] === '-V' || argv[0] === '--version')) {
    process.stdout.write(`${version}\n`);
    return;
  }
  const dir = process.env['SKIFF_LVM_MODEL_DIR'];
  try {
    // Without a model it is a plain pass-through to the real tool.
    const plan = dir ? withState(dir, (state) => planThinDelta(dir, state, argv)) : argv;
    process.exitCode = typeof plan === 'number' ? plan : await execThinDelta(plan);
  } catch (e) {
    process.stderr.write(`thin_delta: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = e instanceof ModelError ? e.status : 1;
  }
}

function lvmModel([command, ...args]: string[]): void {
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
}

const [tool, ...argv] = process.argv.slice(2);
if (tool === 'lvm') standIn((dir, state) => runLvm(dir, state, argv), '  ');
else if (tool === 'dmsetup') standIn((dir, state) => runDmsetup(dir, state, argv), '');
else if (tool === 'thin_delta') await thinDelta(argv);
else if (tool === 'lvm-model') lvmModel(argv);
else if (tool !== undefined) {
  process.stderr.write(`lvm model: unknown stand-in ${tool}\n`);
  process.exitCode = 127;
}
