// Writes a large single-volume V3 archive (xchacha20-dgr, zstd:3, 256 KiB chunks, one session)
// from deterministic data, using Skiff's own archive codecs. For benchmarks of the read side
// until `send` exists; nonces are random (readers never recompute them).
//
// Data, per 256 KiB chunk, cycling: incompressible (ChaCha20 keystream), all zero (a "0"
// manifest line, no file), log-like text (~3:1), half zero.

import { createCipheriv, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { formatArchiveIniText, formatHeader, gzipBody } from '../source-agent/archive/archive-ini.js';
import { makeCodec } from '../source-agent/archive/compression/index.js';
import { CIPHER_MODES } from '../source-agent/archive/crypto/cipher-modes.js';
import { xchacha20Poly1305Seal } from '../source-agent/archive/crypto/xchacha20.js';
import { sealChunkEnvelope, sealMetadataEnvelope } from '../source-agent/archive/envelope.js';
import { encodeHash, hmacSha256DataHasher, initHashing, metadataHash } from '../source-agent/archive/hash.js';
import { deriveRootKeys, deriveSubkeys } from '../source-agent/archive/keys.js';
import { layout } from '../source-agent/archive/layout.js';
import { manifestLine, parseManifest } from '../source-agent/archive/manifest.js';
import { MergedManifest } from '../source-agent/archive/merged-manifest.js';
import type { SessionName, VolumeId } from '../source-agent/archive/names.js';
import { formatSaltFile, type SaltFile, saltDigest } from '../source-agent/archive/salt.js';
import { formatSessionInfo } from '../source-agent/archive/session-info.js';
import { formatVolInfo } from '../source-agent/archive/volinfo.js';

export const BENCH_PASSPHRASE = 'bench-passphrase';
const CHUNK = 262144;

function chunkData(index: number, seed: Buffer): Buffer {
  const kind = index % 4;
  if (kind === 1) return Buffer.alloc(CHUNK);
  const iv = Buffer.alloc(16);
  iv.writeUInt32LE(index, 4);
  const random = createCipheriv('chacha20', seed, iv).update(Buffer.alloc(CHUNK));
  if (kind === 0) return random;
  if (kind === 3) return Buffer.concat([random.subarray(0, CHUNK / 2), Buffer.alloc(CHUNK / 2)]);
  let text = '';
  for (let line = 0; text.length < CHUNK; line++) {
    text += `2026-11-28T15:${String(line % 60).padStart(2, '0')}:00 host${random[line % CHUNK]} service[${index}]: request ${line} took ${random[(line * 7) % CHUNK]} ms\n`;
  }
  return Buffer.from(text.slice(0, CHUNK));
}

/** Creates the archive at `dir` holding volume "vol.img" of `bytes` bytes; returns nothing. */
export async function synthesizeArchive(dir: string, bytes: number): Promise<void> {
  await initHashing();
  const mode = CIPHER_MODES['35'];
  const salt: SaltFile = {
    counters: [0n, 2n, 0n, 0n],
    salts: [randomBytes(64), randomBytes(64), randomBytes(64), randomBytes(64)],
    record: { nonce: randomBytes(24), tag: Buffer.alloc(16), ciphertext: Buffer.alloc(64) },
  };
  const keys = await deriveSubkeys(await deriveRootKeys(Buffer.from(BENCH_PASSPHRASE), salt), salt, mode);
  const sealed = xchacha20Poly1305Seal(keys.metadataKey, salt.record.nonce, saltDigest(salt.salts));
  salt.record.tag = sealed.tag;
  salt.record.ciphertext = sealed.ciphertext;
  const codec = makeCodec('zstd', 3);
  const hasher = hmacSha256DataHasher(keys.manifestHashKey);
  const seal = (compressed: Buffer) => sealMetadataEnvelope(keys.metadataKey, randomBytes(24), compressed);
  const put = (path: string, data: Buffer) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), data);
  };

  const vid = 'Vol_be0c11' as VolumeId;
  const session = 'S_20261128-120000' as SessionName;
  const seed = Buffer.alloc(32, 7);
  let manifest = '';
  const count = Math.ceil(bytes / CHUNK);
  for (let i = 0; i < count; i++) {
    let data = chunkData(i, seed);
    if ((i + 1) * CHUNK > bytes) data = data.subarray(0, bytes - i * CHUNK);
    const address = i * CHUNK;
    if (data.length === CHUNK && data.every((b) => b === 0)) {
      manifest += manifestLine(null, address);
      continue;
    }
    const compressed = codec.compress(data);
    const hash = hasher.digest(compressed);
    manifest += manifestLine(hash, address);
    put(layout.chunk(vid, session, address), sealChunkEnvelope(keys.dataKey, randomBytes(24), compressed));
  }
  const manifestText = Buffer.from(manifest);
  const merged = new MergedManifest(bytes, CHUNK);
  merged.addOlder(parseManifest(manifestText, CHUNK, bytes), 0);
  const manifestZ = codec.compress(manifestText);
  put(layout.manifest(vid, session), seal(manifestZ));
  const info = codec.compress(
    Buffer.from(
      formatSessionInfo({
        localtime: '1795867200000000000',
        previous: null,
        permissions: '420:root:root',
        manifestHash: encodeHash(metadataHash(manifestZ)),
        volsize: bytes,
        sequence: 0,
        mfcs: merged.crc(),
        tags: new Map(),
      }),
    ),
  );
  put(layout.sessionInfo(vid, session), seal(info));
  const volinfo = codec.compress(
    Buffer.from(formatVolInfo({ name: 'vol.img', desc: '', sessions: new Map([[session, encodeHash(metadataHash(info))]]) })),
  );
  put(layout.volinfo(vid), seal(volinfo));
  const ini = formatArchiveIniText({
    updatedAt: '1795867200.5',
    uuid: randomUUID(),
    formatVersion: 3,
    chunkSize: CHUNK,
    compression: 'zstd',
    compressionLevel: 3,
    hashtype: 'hmac-sha256',
    mode,
    dataCounter: BigInt(count),
    metadataCounter: 2n,
    volumes: new Map([[vid, encodeHash(metadataHash(volinfo))]]),
    inProcess: [],
    varEntries: [],
  });
  put('archive.ini', Buffer.concat([formatHeader(mode), seal(gzipBody(ini))]));
  put('archive.salt', formatSaltFile(salt));
}
