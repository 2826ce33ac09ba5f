// zstd through zstd-napi's low-level binding: one-shot ZSTD_compressCCtx (content size in the
// frame header, no checksum — the frames Wyng's python-zstd writes and requires) and
// ZSTD_decompressDCtx into a caller-sized buffer, which fails instead of growing.

import binding from 'zstd-napi/binding.js';
import { messageOf } from '../../../protocol/thrown.js';
import { type Codec, DecompressError } from './codec.js';

export function zstdCodec(level: number): Codec {
  const cctx = new binding.CCtx();
  const dctx = new binding.DCtx();
  return {
    name: 'zstd',
    level,
    compress(data) {
      const dst = Buffer.allocUnsafe(binding.compressBound(data.length));
      const n = cctx.compress(dst, data, level);
      return dst.subarray(0, n);
    },
    compressInto: (data, out) => cctx.compress(out, data, level),
    maxCompressedBytes: (length) => binding.compressBound(length),
    decompressInto(data, out) {
      try {
        return dctx.decompress(out, data);
      } catch (error) {
        throw new DecompressError(`zstd: ${messageOf(error)}`);
      }
    },
  };
}
