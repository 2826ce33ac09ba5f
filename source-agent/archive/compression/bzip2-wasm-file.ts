// Where libbzip2's .wasm lies: in the installed bzip2-wasm package. A module of its own because
// the release bundle (release/make-release.mjs) replaces it with one that finds the copy shipped
// next to the bundled files, where there is no node_modules to resolve from.

import { createRequire } from 'node:module';

export function bzip2WasmFile(): string {
  return createRequire(import.meta.url).resolve('bzip2-wasm/bzip2-1.0.8/bzip2.wasm');
}
