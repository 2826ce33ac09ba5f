// Shared entry for the model's stand-in commands: run, print, and turn a ModelError into LVM-style
// stderr ("  message") and its exit status, never a stack trace.

import type { ModelState } from '../state.js';
import { ModelError, modelDir, withState } from '../state.js';

export function standIn(run: (dir: string, state: ModelState) => string, indent = '  '): void {
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
