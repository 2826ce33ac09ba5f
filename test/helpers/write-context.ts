// Engine-level write tests: a WriteContext over an opened archive, with local state in a
// scratch directory, and an Output that records what it is told.

import { Archive } from '../../source-agent/archive/archive.js';
import { ArchiveWriter } from '../../source-agent/archive/archive-writer.js';
import type { RootKeys } from '../../source-agent/archive/keys.js';
import { NonceCounters } from '../../source-agent/archive/nonces.js';
import type { Output } from '../../source-agent/engine/output.js';
import { type SendEvents, send } from '../../source-agent/engine/send/send.js';
import type { WriteContext } from '../../source-agent/engine/write-context.js';
import { prepareImport } from '../../source-agent/source/import-source.js';
import { LocalState } from '../../source-agent/state/local-state.js';
import type { Store } from '../../source-agent/store/store.js';
import { fixtureRootKeys } from './paths.js';

export const silentOutput: Output = {
  verbose: false,
  line() {},
  write() {},
  warn() {},
  progress: () => ({ update() {}, end() {}, abandon() {} }),
};

/** An Output that keeps every line (stdout and stderr together), for assertions. */
export function recordingOutput(): Output & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    verbose: true,
    line: (text = '') => void lines.push(text),
    write: (text: string) => void lines.push(text),
    warn: (text: string) => void lines.push(text),
    progress: () => ({ update() {}, end() {}, abandon() {} }),
  };
}

const now = () => Date.now() / 1000;

/** A writer as WriteCommand builds it (counters from the archive; no local reservation file). */
export function writerFor(archive: Archive): ArchiveWriter {
  if (!archive.keys) return new ArchiveWriter(archive, null, now);
  const counters = new NonceCounters(
    archive.ini.mode.nonceStyle ?? 'msr',
    archive.keys.metadataNonceKey,
    { data: archive.ini.dataCounter ?? 0n, metadata: archive.ini.metadataCounter ?? 0n },
    now,
  );
  return new ArchiveWriter(archive, counters, now);
}

/** Send events that print nothing. */
export const quietSend: SendEvents = { note() {}, warn() {}, sending() {}, volumeStart: () => ({ update() {} }), volumeEnd() {} };

/** One engine-level send of the file `source` as volume `name`, a session at `at`; fails unless it was sent. */
export async function sendImportAt(archive: Archive, name: string, source: string, at: Date): Promise<void> {
  const reports = await send(
    {
      writer: writerFor(archive),
      volumes: [{ name, prepare: () => prepareImport(source) }],
      tags: new Map(),
      sendUnchanged: false,
      dryRun: false,
      startedAt: at,
    },
    quietSend,
  );
  if (reports[0]?.outcome !== 'sent') throw new Error(`'${name}' was not sent: ${reports[0]?.outcome}`);
}

/**
 * Root keys by passphrase: deriving them takes seconds (Wyng's scrypt parameters), and a fault
 * test opens its archive hundreds of times; the Wyng fixtures' keys are known from the start
 * (paths.ts). A wrong key is still refused (it does not decrypt).
 */
const derivedKeys = new Map<string, RootKeys>();

/** Archive.open with the passphrase, reusing keys derived earlier in this process. */
export async function openArchive(store: Store, passphrase = ''): Promise<Archive> {
  const known = derivedKeys.get(passphrase) ?? fixtureRootKeys(passphrase);
  const archive = await Archive.open(store, { passphrase: async () => Buffer.from(passphrase), ...(known ? { rootKeys: known } : {}) });
  if (archive.rootKeys) derivedKeys.set(passphrase, archive.rootKeys);
  return archive;
}

/** Opens the archive in `store` and gives the context a write command would have. */
export async function openWriteContext(
  store: Store,
  stateDir: string,
  options: { passphrase?: string; forceRetry?: boolean } = {},
): Promise<WriteContext> {
  const archive = await openArchive(store, options.passphrase);
  return writeContextFor(archive, stateDir, options.forceRetry ?? false);
}

export async function writeContextFor(archive: Archive, stateDir: string, forceRetry = false): Promise<WriteContext> {
  const state = await LocalState.open(stateDir, archive.ini.uuid, archive.store.url);
  await state.saveRoot(archive.rootBytes);
  return { archive, writer: writerFor(archive), state, forceRetry, persist: () => state.saveRoot(archive.rootBytes) };
}
