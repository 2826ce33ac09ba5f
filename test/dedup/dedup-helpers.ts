// Shared parts of the dedup tests: archives on a LocalStore, sends of plain files through the
// engine, restores of every session, the inode census of chunk files, and stores that refuse
// or limit hard links. Nothing runs at import time.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Archive } from '../../source-agent/archive/archive.js';
import { CIPHER_MODES } from '../../source-agent/archive/crypto/cipher-modes.js';
import type { RootKeys } from '../../source-agent/archive/keys.js';
import { archCheck } from '../../source-agent/engine/maintain/arch-check.js';
import { createArchive } from '../../source-agent/engine/maintain/arch-init.js';
import { type SendEvents, send, type VolumeReport } from '../../source-agent/engine/send/send.js';
import { prepareImport } from '../../source-agent/source/import-source.js';
import { LocalStore } from '../../source-agent/store/local-store.js';
import { type Store, StoreError, type StoreErrorCode } from '../../source-agent/store/store.js';
import { useKdfMemoHere } from '../helpers/cli.js';
import { inProcessStore } from '../helpers/in-process-store.js';
import { restoreImages } from '../helpers/restore-all.js';
import { keystream } from '../helpers/volumes.js';
import { silentOutput, writerFor } from '../helpers/write-context.js';

export const CHUNK = 65536;
export const PASSPHRASE = 'dedup-test-passphrase';
const now = () => Date.now() / 1000;

export async function newArchive(root: string, encrypted = false): Promise<void> {
  // Not about the key derivation: the archive's scrypt comes from the test memo (helpers/cli.ts).
  useKdfMemoHere();
  await createArchive(new LocalStore(root), {
    mode: encrypted ? CIPHER_MODES['34'] : CIPHER_MODES['00'],
    compression: 'zstd',
    level: 3,
    chunkSize: CHUNK,
    passphrase: async () => Buffer.from(PASSPHRASE),
    now,
  });
}

/** The root keys of the archive opened last: the key derivation runs once per archive, not at every open. */
let lastKeys: RootKeys | undefined;

export async function openArchive(store: Store): Promise<Archive> {
  const archive = await Archive.open(store, {
    passphrase: async () => Buffer.from(PASSPHRASE),
    ...(lastKeys ? { rootKeys: lastKeys } : {}),
  });
  lastKeys = archive.rootKeys ?? lastKeys;
  return archive;
}

/** Random chunks, some repeated: `pattern` names each chunk ("0" is a zero chunk). */
export function patternVolume(pattern: string, seed: string): Buffer {
  const chunks = new Map<string, Buffer>();
  return Buffer.concat(
    [...pattern].map((letter) => {
      if (letter === '0') return Buffer.alloc(CHUNK);
      let chunk = chunks.get(letter);
      if (!chunk) {
        chunk = keystream(`${seed}-${letter}`, CHUNK);
        chunks.set(letter, chunk);
      }
      return chunk;
    }),
  );
}

export interface SendResult {
  reports: VolumeReport[];
  warnings: string[];
}

/** Sends files as import volumes (name → path), as one session at `at`. */
export async function sendFiles(
  archive: Archive,
  volumes: readonly { name: string; path: string }[],
  options: { dedup: boolean; at: Date; dryRun?: boolean },
): Promise<SendResult> {
  const warnings: string[] = [];
  const events: SendEvents = {
    note() {},
    warn: (text) => void warnings.push(text),
    sending() {},
    volumeStart: () => ({ update() {} }),
    volumeEnd() {},
  };
  const reports = await send(
    {
      writer: writerFor(archive),
      volumes: volumes.map((v) => ({ name: v.name, prepare: () => prepareImport(v.path) })),
      tags: new Map(),
      sendUnchanged: false,
      dryRun: options.dryRun ?? false,
      startedAt: options.at,
      dedup: options.dedup,
    },
    events,
  );
  return { reports, warnings };
}

/** Every session of every volume, restored: name → images oldest first. */
export async function restoreAll(store: Store): Promise<Map<string, Buffer[]>> {
  return restoreImages(await openArchive(store));
}

/** Names of volumes that fail arch-check (the engine's full check: metadata and every chunk). */
export async function archCheckFailures(store: Store): Promise<string[]> {
  return archCheck(await openArchive(store), { names: null, session: null }, silentOutput);
}

/** Chunk files under Vol_*\/S_*\/ (of the given volumes) and their distinct inodes; "-lnk" names found. */
export function chunkCensus(root: string, vids?: ReadonlySet<string>): { files: number; inodes: number; leftovers: number } {
  const inodes = new Set<number>();
  let files = 0;
  let leftovers = 0;
  for (const vol of readdirSync(root).filter((n) => n.startsWith('Vol_') && (!vids || vids.has(n)))) {
    for (const session of readdirSync(join(root, vol)).filter((n) => n.startsWith('S_'))) {
      for (const sub of readdirSync(join(root, vol, session)).filter((n) => /^[0-9a-f]{9}$/.test(n))) {
        for (const name of readdirSync(join(root, vol, session, sub))) {
          if (name.endsWith('-lnk')) leftovers++;
          else if (name.startsWith('x')) {
            files++;
            inodes.add(statSync(join(root, vol, session, sub, name)).ino);
          }
        }
      }
    }
  }
  return { files, inodes: inodes.size, leftovers };
}

/** Distinct non-zero full chunks (and short last chunks) of the images. */
export function distinctChunks(images: readonly Buffer[]): number {
  const seen = new Set<string>();
  const zero = Buffer.alloc(CHUNK);
  for (const image of images) {
    for (let at = 0; at < image.length; at += CHUNK) {
      const chunk = image.subarray(at, Math.min(image.length, at + CHUNK));
      if (chunk.length === CHUNK && chunk.equals(zero)) continue;
      seen.add(chunk.toString('base64'));
    }
  }
  return seen.size;
}

/** A LocalStore whose links fail: always with `code`, or with EMLINK once a file has `maxLinks`. */
export class LinkLimitedStore extends LocalStore {
  constructor(
    root: string,
    private readonly limit: { code: StoreErrorCode } | { maxLinks: number },
  ) {
    super(root);
  }

  private queue: Promise<unknown> = Promise.resolve();

  override link(existing: string, newPath: string): Promise<void> {
    const limit = this.limit;
    if ('code' in limit) return Promise.reject(new StoreError(limit.code, newPath, 'link refused (test)'));
    // One at a time, so that the count checked is the count the link sees (as a file system would).
    const next = this.queue.then(async () => {
      if (statSync(this.localPath(existing)).nlink >= limit.maxLinks) throw new StoreError('EMLINK', newPath, 'too many links (test)');
      await super.link(existing, newPath);
    });
    this.queue = next.catch(() => {});
    return next;
  }
}

/** A RemoteStore whose helper runs in this process (two in-memory streams). */
export const inProcessRemote = inProcessStore;
