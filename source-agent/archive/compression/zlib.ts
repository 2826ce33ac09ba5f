// zlib streams (RFC 1950) as Python's zlib.compress(data, level) writes them.

import { deflateSync, inflateSync } from 'node:zlib';
import { messageOf } from '../../../protocol/thrown.js';
import { type Codec, DecompressError } from './codec.js';

export function zlibCodec(level: number): Codec {
  return {
    name: 'zlib',
    level,
    compress: (data) => deflateSync(data, { level }),
    compressInto: (data, out) => deflateSync(data, { level }).copy(out),
    // zlib's deflateBound for the default window and memory levels.
    maxCompressedBytes: (length) => length + (length >> 12) + (length >> 14) + (length >> 25) + 13 + 6,
    decompressInto(data, out) {
      let result: Buffer;
      try {
        // maxOutputLength makes zlib stop (and throw) instead of inflating past the bound.
        result = inflateSync(data, { maxOutputLength: Math.max(1, out.length) });
      } catch (error) {
        throw new DecompressError(`zlib: ${messageOf(error)}`);
      }
      if (result.length > out.length) throw new DecompressError('zlib: output exceeds bound');
      return result.copy(out, 0);
    },
  };
}
