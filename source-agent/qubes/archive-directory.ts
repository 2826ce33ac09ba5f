// What the archive holds, seen as Qubes VMs: read from `skiff --json list` (Wyng's JSON shape)
// and indexed by session and by qube. A session is a Qubes backup only if it holds the
// `wyng-qubes-metadata` volume (as for wyng-util-qubes: plain `skiff send` sessions are not
// offered for restore).

import { QubesMetadataError } from '../errors.js';
import { METADATA_VOLUME, qubeOfVolume, type VolumeKind } from './volume-names.js';

export interface ArchiveDirectory {
  url: string;
  updatedAt: number;
  encrypted: boolean | null;
  /** Session name (YYYYMMDD-HHMMSS) → the archive volumes that have it. */
  sessionVolumes: Map<string, Set<string>>;
  /** Session name → its tags (id → description), over all its volumes. */
  sessionTags: Map<string, Map<string, string>>;
  /** Qubes backup sessions (with the metadata volume) → the qubes with a volume in them. */
  sessionQubes: Map<string, Set<string>>;
  /** Qube → session → volume kind → archive volume name (Qubes backup sessions only). */
  qubeVolumes: Map<string, Map<string, Map<VolumeKind, string>>>;
}

interface UntrustedJson {
  url?: unknown;
  updated_at?: unknown;
  encrypted?: unknown;
  volumes?: Record<string, { sessions?: Record<string, { tags?: Record<string, unknown> }> }>;
}

/** `list --json` prints banner lines first; the JSON object starts at the first `{`. */
export function parseArchiveDirectory(listOutput: string): ArchiveDirectory {
  let untrusted: UntrustedJson;
  try {
    untrusted = JSON.parse(listOutput.slice(listOutput.indexOf('{'))) as UntrustedJson;
  } catch {
    throw new QubesMetadataError('cannot read the archive directory (skiff --json list)');
  }
  const directory: ArchiveDirectory = {
    url: typeof untrusted.url === 'string' ? untrusted.url : '',
    updatedAt: Number(untrusted.updated_at ?? 0),
    encrypted: typeof untrusted.encrypted === 'boolean' ? untrusted.encrypted : null,
    sessionVolumes: new Map(),
    sessionTags: new Map(),
    sessionQubes: new Map(),
    qubeVolumes: new Map(),
  };
  for (const [volume, info] of Object.entries(untrusted.volumes ?? {})) {
    for (const [key, session] of Object.entries(info.sessions ?? {})) {
      const name = key.replace(/^S_/, '');
      if (!directory.sessionVolumes.has(name)) directory.sessionVolumes.set(name, new Set());
      directory.sessionVolumes.get(name)!.add(volume);
      if (!directory.sessionTags.has(name)) directory.sessionTags.set(name, new Map());
      for (const [tag, description] of Object.entries(session.tags ?? {})) directory.sessionTags.get(name)!.set(tag, String(description));
    }
  }
  for (const [session, volumes] of directory.sessionVolumes) {
    if (!volumes.has(METADATA_VOLUME)) continue;
    for (const volume of volumes) {
      const owner = qubeOfVolume(volume);
      if (!owner) continue;
      if (!directory.sessionQubes.has(session)) directory.sessionQubes.set(session, new Set());
      directory.sessionQubes.get(session)!.add(owner.qube);
      if (!directory.qubeVolumes.has(owner.qube)) directory.qubeVolumes.set(owner.qube, new Map());
      const sessions = directory.qubeVolumes.get(owner.qube)!;
      if (!sessions.has(session)) sessions.set(session, new Map());
      sessions.get(session)!.set(owner.kind, volume);
    }
  }
  return directory;
}

/** The newest Qubes backup session holding each of the qubes, if it is the same for all. */
export function latestCommonSession(directory: ArchiveDirectory, qubes: readonly string[]): string | null {
  const latest = new Set<string>();
  for (const qube of qubes) {
    const sessions = [...(directory.qubeVolumes.get(qube)?.keys() ?? [])].sort();
    if (sessions.length > 0) latest.add(sessions.at(-1)!);
  }
  return latest.size === 1 ? [...latest][0]! : null;
}
