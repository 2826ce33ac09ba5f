// arch-init: create a new, empty archive (format spec §13.1, checklist "Writer 1"): random uuid
// and salts, the sealed salt record, and the root with empty [volumes] and [in_process]; the
// files (archive.salt, archive.ini, their backups, the hard-link probe) are written by
// archive/create.ts.

import { randomUUID } from 'node:crypto';
import { Archive } from '../../archive/archive.js';
import type { ArchiveIni } from '../../archive/archive-ini.js';
import { ArchiveWriter } from '../../archive/archive-writer.js';
import { type CompressionName, makeCodec } from '../../archive/compression/index.js';
import { archiveExists, writeNewArchive } from '../../archive/create.js';
import type { CipherMode } from '../../archive/crypto/cipher-modes.js';
import { xchacha20Poly1305Seal } from '../../archive/crypto/xchacha20.js';
import { initHashing } from '../../archive/hash.js';
import { deriveRootKeys, deriveSubkeys } from '../../archive/keys.js';
import { NonceCounters } from '../../archive/nonces.js';
import { newSaltFile, saltDigest } from '../../archive/salt.js';
import { DestinationNotReadyError } from '../../errors.js';
import type { Store } from '../../store/store.js';

export interface InitOptions {
  mode: CipherMode;
  compression: CompressionName;
  level: number;
  chunkSize: number;
  /** Called only for an encrypted archive. */
  passphrase: () => Promise<Uint8Array>;
  now: () => number;
  /** Called as the key derivation (seconds of scrypt) starts; what it returns, as it ends. */
  onDeriving?: () => () => void;
}

/** Refuses a destination that already holds an archive (exit 5, as Wyng). */
export async function checkNoArchive(store: Store): Promise<void> {
  if (await archiveExists(store)) throw new DestinationNotReadyError(`Archive already exists: ${store.url}`);
}

export async function createArchive(store: Store, options: InitOptions): Promise<Archive> {
  await initHashing();
  await checkNoArchive(store);
  const { mode } = options;
  // Test the level once through the compressor, as Wyng does.
  makeCodec(options.compression, options.level).compress(Buffer.from('test'));
  const ini: ArchiveIni = {
    updatedAt: '0',
    uuid: randomUUID(),
    formatVersion: 3,
    chunkSize: options.chunkSize,
    compression: options.compression,
    compressionLevel: options.level,
    hashtype: mode.hashtype,
    mode,
    dataCounter: mode.encrypted ? 0n : null,
    metadataCounter: mode.encrypted ? 0n : null,
    volumes: new Map(),
    inProcess: [],
    varEntries: [],
  };

  if (!mode.encrypted) {
    const archive = new Archive(store, ini, null, null, Buffer.alloc(0));
    return writeNewArchive(new ArchiveWriter(archive, null, options.now), ini, null);
  }

  const salt = newSaltFile();
  const passphrase = await options.passphrase();
  const done = options.onDeriving?.();
  let root: Awaited<ReturnType<typeof deriveRootKeys>>;
  try {
    root = await deriveRootKeys(passphrase, salt);
  } finally {
    done?.();
  }
  const keys = await deriveSubkeys(root, salt, mode);
  const archive = new Archive(store, ini, keys, salt, Buffer.alloc(0));
  const counters = new NonceCounters(mode.nonceStyle ?? 'msr', keys.metadataNonceKey, { data: 0n, metadata: 0n }, options.now, 0n);
  const digest = saltDigest(salt.salts);
  const nonce = counters.metadataNonce(digest);
  const sealed = xchacha20Poly1305Seal(keys.metadataKey, nonce, digest);
  salt.record = { nonce, tag: sealed.tag, ciphertext: sealed.ciphertext };
  salt.counters = [counters.data, counters.metadata, 0n, 0n];
  return writeNewArchive(new ArchiveWriter(archive, counters, options.now), ini, salt);
}
