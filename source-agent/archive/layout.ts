// Where everything of a V3 archive lives on the destination (format spec §2, §13, §15): the
// objects readers follow, the temporary names a commit stages under, the markers and lists of a
// prune's merge, and the probe and leftover names. Every archive-relative path Skiff reads or
// writes is built here, one function each, so that engine/ never spells one and a change of the
// format has one place to go. The names are Wyng's: either program must find the other's files.

import { chunkDirName, chunkFileName, type SessionName, type VolumeId } from './names.js';

/** The session directory a send writes before it is published under its name (Wyng 0.8: S-tmp). */
export const SESSION_TMP = 'S-tmp';
/** What a merge's init step builds, then renames to MERGE_DIR in one step (spec §15.3). */
export const MERGE_INIT_DIR = 'merge-init';
export const MERGE_DIR = 'merge';
/** merge.lst as Wyng writes it, gzipped, for a Wyng that resumes the merge. */
export const MERGE_LIST = 'merge.lst.gz';
/** Markers in merge/: the chunk moves are done; the finalize step has started. */
export const MERGE_MOVES_DONE = 'CHECK-mv-rm';
export const MERGE_FINALIZING = 'CHECK-start-finalize';
/** What arch-deduplicate links beside a duplicate before renaming it over the duplicate. */
export const LINK_SUFFIX = '-lnk';
/**
 * A put's half-written file: LocalStore and the destination helper write `.skiff-put-*` beside
 * the target and rename it over; a crash can leave one.
 */
export const PUT_LEFTOVER_PREFIX = '.skiff-put-';

const TMP = '.tmp';
const BAK = '.bak';

export const layout = {
  // The root and its neighbours.
  archiveIni: 'archive.ini',
  /** The next root of a commit, renamed over archive.ini last. */
  rootTmp: `archive.ini${TMP}`,
  rootBak: `archive.ini${BAK}`,
  archiveSalt: 'archive.salt',
  /** archive.salt with every byte inverted (salt.ts: invertBytes). */
  saltBackup: 'salt.bak',
  /** Wyng's probe that the destination is writable and holds hard links (spec §2). */
  hardLinkProbe: 'archive.dat',
  hardLinkProbeLink: '.hardlink',

  // A volume.
  volumeDir: (vid: VolumeId) => vid,
  /** Any entry of a volume directory, by its (checked) name. */
  volumeEntry: (vid: VolumeId, entry: string) => `${vid}/${entry}`,
  volinfo: (vid: VolumeId) => `${vid}/volinfo`,
  volinfoTmp: (vid: VolumeId) => `${vid}/volinfo${TMP}`,
  volinfoBak: (vid: VolumeId) => `${vid}/volinfo${BAK}`,
  /** The volume's session names in order (Wyng's json list; volumes without sessions have none). */
  sessionsFile: (vid: VolumeId) => `${vid}/sessions`,
  sessionsTmp: (vid: VolumeId) => `${vid}/sessions${TMP}`,

  // A session.
  sessionDir: (vid: VolumeId, session: SessionName) => `${vid}/${session}`,
  sessionInfo: (vid: VolumeId, session: SessionName) => `${vid}/${session}/info`,
  manifest: (vid: VolumeId, session: SessionName) => `${vid}/${session}/manifest.z`,
  chunk: (vid: VolumeId, session: SessionName, address: number) => `${vid}/${session}/${chunkDirName(address)}/${chunkFileName(address)}`,
  /** A merge prepares the target's new info and manifest beside the old ones. */
  sessionInfoTmp: (vid: VolumeId, session: SessionName) => `${vid}/${session}/info${TMP}`,
  manifestTmp: (vid: VolumeId, session: SessionName) => `${vid}/${session}/manifest.z${TMP}`,
  /** A chunk file under any session directory (`dir`: an archive path, e.g. S-tmp's). */
  chunkUnder: (dir: string, address: number) => `${dir}/${chunkDirName(address)}/${chunkFileName(address)}`,
  /** The chunk sub-directory of `address` under a session directory. */
  chunkDirUnder: (dir: string, address: number) => `${dir}/${chunkDirName(address)}`,

  // The session a send is writing.
  sessionTmpDir: (vid: VolumeId) => `${vid}/${SESSION_TMP}`,
  sessionTmpInfo: (vid: VolumeId) => `${vid}/${SESSION_TMP}/info`,
  sessionTmpManifest: (vid: VolumeId) => `${vid}/${SESSION_TMP}/manifest.z`,

  // A prune's merge (spec §15.3).
  mergeInitDir: (vid: VolumeId) => `${vid}/${MERGE_INIT_DIR}`,
  mergeInitEntry: (vid: VolumeId, session: string) => `${vid}/${MERGE_INIT_DIR}/${session}`,
  mergeDir: (vid: VolumeId) => `${vid}/${MERGE_DIR}`,
  mergeSession: (vid: VolumeId, session: SessionName) => `${vid}/${MERGE_DIR}/${session}`,
  mergeSessionInfo: (vid: VolumeId, session: SessionName) => `${vid}/${MERGE_DIR}/${session}/info`,
  mergeSessionManifest: (vid: VolumeId, session: SessionName) => `${vid}/${MERGE_DIR}/${session}/manifest.z`,
  mergeSessionInfoTmp: (vid: VolumeId, session: SessionName) => `${vid}/${MERGE_DIR}/${session}/info${TMP}`,
  mergeSessionManifestTmp: (vid: VolumeId, session: SessionName) => `${vid}/${MERGE_DIR}/${session}/manifest.z${TMP}`,
  mergeMovesDone: (vid: VolumeId) => `${vid}/${MERGE_DIR}/${MERGE_MOVES_DONE}`,
  mergeFinalizing: (vid: VolumeId) => `${vid}/${MERGE_DIR}/${MERGE_FINALIZING}`,
  mergeList: (vid: VolumeId) => `${vid}/${MERGE_LIST}`,
};

/** Entries of a session directory that only an unfinished write leaves (a Wyng send, a merge's prepare). */
const SESSION_LEFTOVERS = new Set([`info${TMP}`, `manifest.z${TMP}`]);

export function isSessionLeftover(entry: string): boolean {
  return SESSION_LEFTOVERS.has(entry);
}

/** Wyng's session temp dirs: "S*-tmp" (Skiff and Wyng 0.8 use exactly S-tmp). */
export function isSessionTmpName(name: string): boolean {
  return name.startsWith('S') && name.endsWith('-tmp');
}

export function isPutLeftover(name: string): boolean {
  return name.startsWith(PUT_LEFTOVER_PREFIX);
}

const CHUNK_DIR = /^[0-9a-f]{9}$/;
const LINK_LEFTOVER = /^x[0-9a-f]{16}-lnk$/;

/** A chunk sub-directory's name (the first 9 hex digits of the address). */
export function isChunkDirName(name: string): boolean {
  return CHUNK_DIR.test(name);
}

/** "x<16 hex>-lnk": a link an interrupted arch-deduplicate made and had not renamed yet. */
export function isLinkLeftover(name: string): boolean {
  return LINK_LEFTOVER.test(name);
}
