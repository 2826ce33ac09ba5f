// Running the helper on a destination that has only `node`: the remote command is a short
// loader given to `node -e`, which reads exactly the bundled helper's bytes from stdin and runs
// them; everything after those bytes on stdin is the protocol. No file is written remotely.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The bundled helper (built by dest-helper/bundle.mjs next to the compiled agent). */
export function helperBundlePath(): string {
  return fileURLToPath(new URL('../../dest-helper/skiff-dest-helper.cjs', import.meta.url));
}

let bundle: Buffer | null = null;
export function helperBundle(): Buffer {
  bundle ??= readFileSync(helperBundlePath());
  return bundle;
}

// Reads argv[1] bytes from fd 0 (blocking reads; retries if the descriptor is non-blocking),
// then runs them as a CommonJS module. Written without single quotes, for the shell.
const LOADER = [
  'const fs=require("fs"),n=Number(process.argv[1]),b=Buffer.alloc(n);let o=0;',
  'while(o<n){let r;try{r=fs.readSync(0,b,o,n-o,null)}catch(e){if(e.code!=="EAGAIN")throw e;',
  'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,5);continue}if(r===0)process.exit(9);o+=r}',
  'const M=require("module"),m=new M("skiff-dest-helper");m.filename=process.cwd()+"/skiff-dest-helper.cjs";',
  'm.paths=[];m._compile(b.toString("utf8"),m.filename);',
].join('');

/** The shell command that runs the uploaded helper with the destination's node. */
export function uploadCommand(byteLength: number): string {
  return `exec node -e '${LOADER}' ${byteLength}`;
}
