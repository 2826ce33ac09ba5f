// Chooses the codec named in archive.ini.

import { bz2Codec } from './bz2.js';
import { type Codec, type CompressionName, LEVELS } from './codec.js';
import { zlibCodec } from './zlib.js';
import { zstdCodec } from './zstd.js';

export { COMPRESSION_NAMES, type Codec, type CompressionName, DecompressError, decompressBounded, LEVELS } from './codec.js';

export function isCompressionName(name: string): name is CompressionName {
  return Object.hasOwn(LEVELS, name);
}

export function makeCodec(name: CompressionName, level: number): Codec {
  switch (name) {
    case 'zstd':
      return zstdCodec(level);
    case 'zlib':
      return zlibCodec(level);
    case 'bz2':
      return bz2Codec(level);
  }
}
