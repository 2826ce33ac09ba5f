// Archives with many sessions at chosen dates, built through the send engine (unencrypted, so
// that CLI runs over them need no key derivation), and whole-archive restores to compare with.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Archive } from '../../source-agent/archive/archive.js';
import { CIPHER_MODES } from '../../source-agent/archive/crypto/cipher-modes.js';
import { createArchive } from '../../source-agent/engine/maintain/arch-init.js';
import { type SendEvents, send } from '../../source-agent/engine/send/send.js';
import { prepareImport } from '../../source-agent/source/import-source.js';
import { LocalStore } from '../../source-agent/store/local-store.js';
import type { Store } from '../../source-agent/store/store.js';
import { restoreEverySession } from './restore-all.js';
import { keystream, makeVolume, writeAt } from './volumes.js';
import { openArchive, writerFor } from './write-context.js';

export const CHUNK = 65536;

const quiet: SendEvents = { note() {}, warn() {}, sending() {}, volumeStart: () => ({ update() {} }), volumeEnd() {} };

export interface PlannedSession {
  volume: string;
  /** UTC date-time of the session (its name, with TZ=UTC). */
  at: Date;
  tags?: string[];
}

/** Sends each planned session (changing a few chunks of the volume first); returns the archive. */
export async function buildSessionArchive(root: string, scratch: string, sessions: readonly PlannedSession[]): Promise<Archive> {
  const archive = await createArchive(new LocalStore(root), {
    mode: CIPHER_MODES['00'],
    compression: 'zstd',
    level: 3,
    chunkSize: CHUNK,
    passphrase: async () => Buffer.alloc(0),
    now: () => Date.now() / 1000,
  });
  const sources = new Map<string, string>();
  for (const [n, planned] of sessions.entries()) {
    let source = sources.get(planned.volume);
    if (source) {
      // Change two chunks, one of them to zeros now and then.
      writeAt(source, CHUNK * (n % 8), keystream(`${planned.volume}-${n}`, 3000));
      if (n % 3 === 0) writeAt(source, CHUNK * ((n + 3) % 8), Buffer.alloc(CHUNK));
    } else {
      source = join(scratch, `${planned.volume}.img`);
      writeFileSync(source, makeVolume(planned.volume, CHUNK, 8, 123));
      sources.set(planned.volume, source);
    }
    const reports = await send(
      {
        writer: writerFor(archive),
        volumes: [{ name: planned.volume, prepare: () => prepareImport(source) }],
        tags: new Map((planned.tags ?? []).map((t) => [t, ''])),
        sendUnchanged: true,
        dryRun: false,
        startedAt: planned.at,
      },
      quiet,
    );
    if (reports[0]?.outcome !== 'sent') throw new Error(`session ${n} was not sent`);
  }
  return archive;
}

/** Every session of every volume, restored: "volume@S_name" → bytes. */
export async function restoreAll(store: Store, passphrase = ''): Promise<Map<string, Buffer>> {
  const result = new Map<string, Buffer>();
  for (const [volume, sessions] of await restoreEverySession(await openArchive(store, passphrase)))
    for (const session of sessions) result.set(`${volume}@${session.name}`, session.bytes);
  return result;
}
