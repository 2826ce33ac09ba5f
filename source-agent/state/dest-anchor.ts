// What this machine knows about the archive at one destination, readable before any unlock:
// its uuid, whether it is encrypted and with which cipher. A hostile destination can swap the
// archive for one of its own: an unencrypted one (the next send would upload the volume in
// plaintext, a receive would restore its data) or one with another uuid (the local state and its
// rollback anchor, keyed by uuid, would not be found). The anchor catches both before a passphrase
// is asked or anything is sent.
//
// It lives in <meta-dir>/anchor_<id>.json, <id> hashing the user id and the destination's
// identity (dest-url.ts destIdentity: one spelling per place), never the uuid the destination
// presents. It is written when this machine creates the archive (arch-init) or first opens it,
// moved by arch-check --change-uuid, and replaced only after an open the user accepted with
// --accept-new-archive: never with what the destination merely claims. Nothing secret is in it.

import { createHash } from 'node:crypto';
import type { CipherMode } from '../archive/crypto/cipher-modes.js';
import { LocalStore } from '../store/local-store.js';
import { isNotFound } from '../store/store.js';

/** The anchor file's content (JSON). */
export interface DestAnchor {
  /** The destination identity it belongs to (for people reading the file). */
  dest: string;
  uuid: string;
  encrypted: boolean;
  /** The cipher mode code of archive.ini's header ("00" when unencrypted). */
  cipher: string;
  /** The uuid before an arch-check --change-uuid that may have been interrupted; else absent. */
  previousUuid?: string;
}

/** What the destination presents: its header's cipher mode, and the uuid once it is known. */
export interface Presented {
  mode: CipherMode;
  uuid: string | null;
}

export type AnchorVerdict =
  | { kind: 'ok' }
  | { kind: 'unencrypted' }
  | { kind: 'cipher'; was: string; now: string }
  | { kind: 'uuid'; was: string; now: string };

const MAX_ANCHOR_FILE = 64 * 1024;

export class DestAnchors {
  private readonly files: LocalStore;

  constructor(metaDir: string) {
    this.files = new LocalStore(metaDir);
  }

  static fileName(uid: number, identity: string): string {
    return `anchor_${createHash('sha256').update(`${uid}\0${identity}`).digest('hex').slice(0, 40)}.json`;
  }

  private path(identity: string): string {
    return DestAnchors.fileName(process.getuid?.() ?? 0, identity);
  }

  /** The anchor of `identity`, or null when this machine has none. Throws on a damaged file. */
  async read(identity: string): Promise<DestAnchor | null> {
    let bytes: Buffer;
    try {
      bytes = await this.files.read(this.path(identity), MAX_ANCHOR_FILE);
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
    // Our own file on this machine; the fields used are checked below.
    const parsed = JSON.parse(bytes.toString('utf8')) as Partial<DestAnchor>;
    if (typeof parsed.uuid !== 'string' || typeof parsed.encrypted !== 'boolean' || typeof parsed.cipher !== 'string') {
      throw new Error(`${this.path(identity)} is not an anchor file`);
    }
    return {
      dest: String(parsed.dest ?? identity),
      uuid: parsed.uuid,
      encrypted: parsed.encrypted,
      cipher: parsed.cipher,
      ...(typeof parsed.previousUuid === 'string' ? { previousUuid: parsed.previousUuid } : {}),
    };
  }

  save(anchor: DestAnchor): Promise<void> {
    return this.files.put(this.path(anchor.dest), Buffer.from(`${JSON.stringify(anchor, null, 1)}\n`));
  }
}

/** The anchor for an archive this machine has just authenticated (or created). */
export function anchorFor(identity: string, mode: CipherMode, uuid: string, previousUuid?: string): DestAnchor {
  return { dest: identity, uuid, encrypted: mode.encrypted, cipher: mode.code, ...(previousUuid ? { previousUuid } : {}) };
}

/**
 * Compares what the destination presents with the anchor. An unencrypted archive where an
 * encrypted one was is named first (the worst case); then another cipher, then another uuid
 * (the uuid before an interrupted --change-uuid still counts as this archive's).
 */
export function compareWithAnchor(anchor: DestAnchor, presented: Presented): AnchorVerdict {
  if (anchor.encrypted && !presented.mode.encrypted) return { kind: 'unencrypted' };
  if (anchor.cipher !== presented.mode.code) return { kind: 'cipher', was: anchor.cipher, now: presented.mode.code };
  if (presented.uuid !== null && presented.uuid !== anchor.uuid && presented.uuid !== anchor.previousUuid) {
    return { kind: 'uuid', was: anchor.uuid, now: presented.uuid };
  }
  return { kind: 'ok' };
}
