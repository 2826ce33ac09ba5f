// bzip2 through libbzip2 1.0.8 compiled to WebAssembly (the bzip2-wasm package). We load the
// .wasm ourselves instead of through its Emscripten glue, which sets `require` and `__dirname`
// on globalThis; the module needs only six small imports. Output is byte-identical to the
// libbz2 that Wyng's Python uses.

import { readFileSync } from 'node:fs';
import { bzip2WasmFile } from './bzip2-wasm-file.js';
import { type Codec, DecompressError } from './codec.js';

// The few WebAssembly APIs used here (the ES2023 lib has no WebAssembly types).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
// Our lib settings have no WebAssembly types: the little we use is declared above.
const WebAssemblyApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface Bz2Exports {
  memory: WasmMemory;
  malloc(size: number): number;
  free(ptr: number): void;
  BZ2_bzBuffToBuffCompress(
    dest: number,
    destLenPtr: number,
    source: number,
    sourceLen: number,
    blockSize100k: number,
    verbosity: number,
    workFactor: number,
  ): number;
  BZ2_bzBuffToBuffDecompress(dest: number, destLenPtr: number, source: number, sourceLen: number, small: number, verbosity: number): number;
  __wasm_call_ctors(): void;
  emscripten_stack_init(): void;
}

const BZ_OK = 0;
const BZ_OUTBUFF_FULL = -8;
const BZ_ERRORS: Record<number, string> = {
  [-2]: 'parameter error',
  [-3]: 'out of memory',
  [-4]: 'data integrity error',
  [-5]: 'not a bzip2 stream',
  [-7]: 'unexpected end of stream',
  [BZ_OUTBUFF_FULL]: 'output exceeds bound',
};

let instance: Bz2Exports | undefined;

function load(): Bz2Exports {
  if (instance) return instance;
  const wasmPath = bzip2WasmFile();
  const module = new WebAssemblyApi.Module(readFileSync(wasmPath));
  let exports: Bz2Exports | undefined;
  const memory = (): WasmMemory => {
    // Called by the module only while it runs, so after it was instantiated below.
    if (!exports) throw new Error('bzip2 module used before it was instantiated');
    return exports.memory;
  };
  const imports = {
    env: {
      exit: (code: number) => {
        throw new Error(`libbz2 exited with ${code}`);
      },
      emscripten_memcpy_big: (dest: number, src: number, num: number) => {
        new Uint8Array(memory().buffer).copyWithin(dest, src, src + num);
      },
      emscripten_resize_heap: (requested: number) => {
        const mem = memory();
        const pages = Math.ceil((requested - mem.buffer.byteLength) / 65536);
        try {
          mem.grow(pages);
          return 1;
        } catch {
          return 0;
        }
      },
    },
    // libbz2's buffer-to-buffer calls never do I/O (verbosity 0); these only satisfy the linker.
    wasi_snapshot_preview1: { fd_close: () => 52, fd_write: () => 52, fd_seek: () => 52 },
  };
  // The module is the bzip2-wasm package's, whose exports are the ones declared in Bz2Exports.
  exports = new WebAssemblyApi.Instance(module, imports).exports as Bz2Exports;
  exports.emscripten_stack_init();
  exports.__wasm_call_ctors();
  instance = exports;
  return exports;
}

function run(
  input: Uint8Array,
  outCapacity: number,
  call: (bz: Bz2Exports, dest: number, destLenPtr: number, src: number) => number,
): Buffer {
  const bz = load();
  const src = bz.malloc(Math.max(1, input.length));
  const dest = bz.malloc(Math.max(1, outCapacity));
  const destLenPtr = bz.malloc(4);
  try {
    if (!src || !dest || !destLenPtr) throw new DecompressError('bz2: out of memory');
    new Uint8Array(bz.memory.buffer).set(input, src);
    new DataView(bz.memory.buffer).setUint32(destLenPtr, outCapacity, true);
    const rc = call(bz, dest, destLenPtr, src);
    if (rc !== BZ_OK) throw new DecompressError(`bz2: ${BZ_ERRORS[rc] ?? `error ${rc}`}`);
    const n = new DataView(bz.memory.buffer).getUint32(destLenPtr, true);
    return Buffer.from(new Uint8Array(bz.memory.buffer, dest, n));
  } finally {
    bz.free(src);
    bz.free(dest);
    bz.free(destLenPtr);
  }
}

export function bz2Codec(level: number): Codec {
  // libbz2's documented worst case is 1% + 600 bytes over the input.
  const maxCompressedBytes = (length: number) => length + Math.ceil(length / 100) + 600;
  const compress = (data: Uint8Array) =>
    run(data, maxCompressedBytes(data.length), (bz, dest, destLenPtr, src) =>
      bz.BZ2_bzBuffToBuffCompress(dest, destLenPtr, src, data.length, level, 0, 0),
    );
  return {
    name: 'bz2',
    level,
    compress,
    compressInto: (data, out) => compress(data).copy(out),
    maxCompressedBytes,
    decompressInto(data, out) {
      const result = run(data, out.length, (bz, dest, destLenPtr, src) =>
        bz.BZ2_bzBuffToBuffDecompress(dest, destLenPtr, src, data.length, 0, 0),
      );
      return result.copy(out, 0);
    },
  };
}
