// Carrying out a prune's merge on the destination (format spec §15.3–15.4), in Wyng's own
// steps and file names, so that either program can complete an interrupted merge of the other:
//
//   prepare   Vol_x/<target>/manifest.z.tmp, <target>/info.tmp, sessions.tmp, volinfo.tmp,
//             archive.ini.tmp (the final root, journal cleared) and merge.lst.gz are written;
//   journal   archive.ini is replaced by the current root carrying [in_process] = merge, …
//             (the commit point: from here on the merge is completed, never lost);
//   init      mergeTarget and the other sessions of the merge move into Vol_x/merge-init/,
//             which is then renamed to Vol_x/merge/;
//   moves     chunk files move into merge/<mergeTarget>/, superseded ones are removed, then the
//             marker merge/CHECK-mv-rm;
//   finalize  marker CHECK-start-finalize; the target's new info and manifest.z go into
//             merge/<mergeTarget>/, which becomes Vol_x/<target>; volinfo, sessions and
//             archive.ini are renamed into place; .bak copies; merge/ and merge.lst.gz removed.
//
// Resuming uses only the destination: which of merge-init/, merge/ and the markers exist says
// how far it got. Before merge/ exists nothing is lost by rolling back (the sessions move back
// and the journal is cleared). Once merge/ exists the merge is completed: the moves are planned
// again (by the caller's planner, engine/prune/merge-plan.ts) from the sessions' own manifests
// (authenticated through the journal root's volinfo), each done only if its source file is
// still there, and the prepared files are checked against the final root's hash chain before
// they are installed.

import { gzipSync } from 'node:zlib';
import { IntegrityError } from '../errors.js';
import { itemAt, valueFor } from '../lookup.js';
import { isNotFound, StoreError } from '../store/store.js';
import { type Archive, MAX_ROOT_FILE_BYTES, type SessionRecord, type Volume } from './archive.js';
import type { ArchiveIni } from './archive-ini.js';
import { journalEntries, type MergeJournal } from './journal.js';
import { layout } from './layout.js';
import { manifestBytes, type SessionManifest } from './manifest.js';
import { chunkDirName, chunkFileName, type SessionName } from './names.js';
import { formatSessionInfo, type SessionInfo } from './session-info.js';
import { adoptRoot, sessionsFileText, type WriteSession } from './transaction.js';
import { formatVolInfo, MAX_VOLINFO_BYTES, MAX_VOLINFO_TEXT, parseVolInfo, type VolInfo, VolInfoError } from './volinfo.js';

/** Removals run this many at a time (a remote store pipelines them). */
const PARALLEL_REMOVALS = 32;

/** What the merge does with chunk files (engine/prune/merge-plan.ts: MergePlan). */
export interface MergeMoves {
  /** The oldest source: its directory is reused and becomes the target's. */
  mergeTarget: SessionName;
  /** [target, remaining sources newest first]: the sessions whose files move into mergeTarget. */
  mergeSources: readonly SessionName[];
  /** Chunk moves in address order: session the file comes from, and the chunk index. */
  moves: readonly { from: SessionName; index: number }[];
  /** Chunk indexes whose file in mergeTarget must go. */
  removals: readonly number[];
}

/** What planning a merge again needs (engine/prune/merge-plan.ts: MergeInput). */
export interface MergePlanInput {
  chunkSize: number;
  sources: readonly { name: SessionName; manifest: SessionManifest }[];
  target: { name: SessionName; volsize: number; manifest: SessionManifest };
}

export interface MergeRequest {
  volume: Volume;
  /** The removed sessions, oldest first. */
  sources: readonly SessionRecord[];
  /** The session right after them, which absorbs their data. */
  target: SessionRecord;
  /** The moves, and the target's manifest after the merge. */
  plan: MergeMoves & { manifest: SessionManifest };
}

/** The root after the merge, and the hash its volinfo records for the target's new info. */
interface FinalRoot {
  bytes: Buffer;
  ini: ArchiveIni;
  targetInfoHash: string;
}

type MergeJob = Omit<MergeJournal, 'kind'>;

/** Merges `request.sources` into `request.target`; returns when the archive holds the result. */
export async function applyMerge(session: WriteSession, request: MergeRequest): Promise<void> {
  const { writer } = session;
  const archive = writer.archive;
  const store = archive.store;
  const { volume, sources, target, plan } = request;
  const vid = volume.vid;
  const run = sources.map((s) => s.name);

  // The merged state: the target takes the first source's place in the chain.
  const manifestText = manifestBytes(plan.manifest, archive.chunkSize);
  const sealedManifest = manifestText.length > 0 ? writer.sealMetadata(manifestText) : null;
  const info: SessionInfo = {
    ...target.info,
    previous: itemAt(sources, 0).info.previous,
    manifestHash: sealedManifest?.hash ?? null,
  };
  const sealedInfo = writer.sealMetadata(formatSessionInfo(info));
  const oldVolinfo = await archive.readVolInfo(vid);
  const removed = new Set<string>(run);
  const sessions = new Map([...oldVolinfo.sessions].filter(([name]) => !removed.has(name)));
  sessions.set(target.name, sealedInfo.hash);
  const volinfo: VolInfo = { ...oldVolinfo, sessions };
  const sealedVolinfo = writer.sealMetadata(formatVolInfo(volinfo));
  const remaining = volume.sessions.filter((s) => !removed.has(s.name)).map((s) => s.name);

  const job: MergeJob = { vid, target: target.name, sources: run };
  const journalRoot = writer.root({ ...archive.ini, inProcess: journalEntries({ kind: 'merge', ...job }) });
  const finalRoot = writer.root({
    ...archive.ini,
    updatedAt: journalRoot.ini.updatedAt,
    volumes: new Map([...archive.ini.volumes].map(([v, hash]) => [v, v === vid ? sealedVolinfo.hash : hash])),
    inProcess: [],
  });

  // Prepare: nothing here is visible to a reader; a crash leaves files the next write removes.
  if (sealedManifest) await store.put(layout.manifestTmp(vid, target.name), sealedManifest.bytes);
  await store.put(layout.sessionInfoTmp(vid, target.name), sealedInfo.bytes);
  await store.put(layout.sessionsTmp(vid), Buffer.from(sessionsFileText(remaining)));
  await store.put(layout.volinfoTmp(vid), sealedVolinfo.bytes);
  await store.put(layout.rootTmp, finalRoot.bytes);
  await store.put(layout.mergeList(vid), gzipSync(mergeListText(plan, target.name, archive.chunkSize)));

  // Journal: the commit point.
  await store.put(layout.archiveIni, journalRoot.bytes);
  adoptRoot(archive, journalRoot);
  await session.persist();

  await initMerge(archive, job, plan.mergeTarget);
  await moveChunks(archive, job, plan, false);
  await finalizeMerge(session, job, plan.mergeTarget, { bytes: finalRoot.bytes, ini: finalRoot.ini, targetInfoHash: sealedInfo.hash });
}

/**
 * Completes or rolls back an interrupted merge from the destination's state alone; `replan`
 * plans the moves again from the sessions' manifests. Says which it did.
 */
export async function resumeMergeOnDestination(
  session: WriteSession,
  job: MergeJob,
  replan: (input: MergePlanInput) => MergeMoves,
): Promise<'rolled-back' | 'completed'> {
  const archive = session.writer.archive;
  const store = archive.store;
  const { vid } = job;
  const mergeTarget = itemAt(job.sources, 0);
  if ((await store.stat(layout.mergeInitDir(vid))) || !(await store.stat(layout.mergeDir(vid)))) {
    await rollBackMerge(session, job);
    return 'rolled-back';
  }
  if (!archive.ini.volumes.has(vid)) throw journalProblem(job, `${vid} is not in the archive`);
  const finalRoot = await readFinalRoot(archive, job);
  if (!(await store.stat(layout.mergeFinalizing(vid)))) {
    // The moves may be part-way: plan them again from the sessions' own manifests.
    const oldVolinfo = await archive.readVolInfo(vid);
    const load = async (name: SessionName) => {
      const infoHash = oldVolinfo.sessions.get(name);
      if (!infoHash) throw journalProblem(job, `${name} is not a session of ${vid}`);
      const info = await archive.readSessionInfo(layout.mergeSessionInfo(vid, name), infoHash);
      return { name, info, manifest: await archive.readManifestAt(layout.mergeSessionManifest(vid, name), info) };
    };
    const sources = [];
    for (const name of job.sources) sources.push(await load(name));
    const target = await load(job.target);
    const plan = replan({
      chunkSize: archive.chunkSize,
      sources,
      target: { name: target.name, volsize: target.info.volsize, manifest: target.manifest },
    });
    await moveChunks(archive, job, plan, true);
  }
  await finalizeMerge(session, job, mergeTarget, finalRoot);
  return 'completed';
}

/** init: the sessions of the merge move into merge-init/, which becomes merge/ in one rename. */
async function initMerge(archive: Archive, job: MergeJob, mergeTarget: SessionName): Promise<void> {
  const store = archive.store;
  const { vid } = job;
  const required = [layout.sessionInfoTmp(vid, job.target), layout.volinfoTmp(vid), layout.rootTmp];
  for (const path of required) if (!(await store.stat(path))) throw new IntegrityError(path, 'missing before the merge could start');
  await store.removeTree(layout.mergeDir(vid));
  await store.removeTree(layout.mergeInitDir(vid));
  await store.mkdir(layout.mergeInitDir(vid));
  const names = [mergeTarget, job.target, ...job.sources.filter((s) => s !== mergeTarget)];
  await store.renameBatch(names.map((name) => [layout.sessionDir(vid, name), layout.mergeInitEntry(vid, name)] as const));
  await store.renameBatch([[layout.mergeInitDir(vid), layout.mergeDir(vid)]]);
}

/** moves: chunk files into merge/<mergeTarget>/; on a resume only those still at their source. */
async function moveChunks(archive: Archive, job: MergeJob, plan: MergeMoves, resuming: boolean): Promise<void> {
  const store = archive.store;
  const chunkSize = archive.chunkSize;
  const { vid } = job;
  const into = layout.mergeSession(vid, plan.mergeTarget);
  const dirs = new Set(plan.moves.map((m) => layout.chunkDirUnder(into, m.index * chunkSize)));
  for (const dir of dirs) await store.mkdir(dir);

  let present: (from: SessionName, address: number) => Promise<boolean> = async () => true;
  if (resuming) {
    const listings = new Map<string, Promise<Set<string>>>();
    present = async (from, address) => {
      const key = layout.chunkDirUnder(layout.mergeSession(vid, from), address);
      let listing = listings.get(key);
      if (!listing) {
        listing = store.list(key).then(
          (names) => new Set(names),
          (error: unknown) => {
            if (isNotFound(error)) return new Set<string>();
            throw error;
          },
        );
        listings.set(key, listing);
      }
      return (await listing).has(chunkFileName(address));
    };
  }
  const renames: (readonly [string, string])[] = [];
  for (const move of plan.moves) {
    const address = move.index * chunkSize;
    if (await present(move.from, address)) {
      renames.push([layout.chunkUnder(layout.mergeSession(vid, move.from), address), layout.chunkUnder(into, address)]);
    }
  }
  await store.renameBatch(renames);
  const removals = plan.removals.map((index) => layout.chunkUnder(into, index * chunkSize));
  for (let i = 0; i < removals.length; i += PARALLEL_REMOVALS) {
    await Promise.all(removals.slice(i, i + PARALLEL_REMOVALS).map((path) => store.remove(path)));
  }
  await store.put(layout.mergeMovesDone(vid), Buffer.alloc(0));
}

/** finalize: every step is skipped when already done, so it can be repeated after a crash. */
async function finalizeMerge(session: WriteSession, job: MergeJob, mergeTarget: SessionName, finalRoot: FinalRoot): Promise<void> {
  const archive = session.writer.archive;
  const store = archive.store;
  const { vid } = job;
  const exists = async (path: string) => (await store.stat(path)) !== null;
  await store.put(layout.mergeFinalizing(vid), Buffer.alloc(0));
  if (await exists(layout.mergeSession(vid, mergeTarget))) {
    const renames: (readonly [string, string])[] = [];
    const infoTmp = layout.mergeSessionInfoTmp(vid, job.target);
    if (await exists(infoTmp)) {
      // Checked against the final volinfo before it becomes the target's info.
      const info = await archive.readSessionInfo(infoTmp, finalRoot.targetInfoHash);
      renames.push([infoTmp, layout.mergeSessionInfo(vid, mergeTarget)]);
      if (info.manifestHash === null) await store.remove(layout.mergeSessionManifest(vid, mergeTarget));
    }
    if (await exists(layout.mergeSessionManifestTmp(vid, job.target))) {
      renames.push([layout.mergeSessionManifestTmp(vid, job.target), layout.mergeSessionManifest(vid, mergeTarget)]);
    }
    renames.push([layout.mergeSession(vid, mergeTarget), layout.sessionDir(vid, job.target)]);
    await store.renameBatch(renames);
  }
  const installs: (readonly [string, string])[] = [];
  if (await exists(layout.volinfoTmp(vid))) installs.push([layout.volinfoTmp(vid), layout.volinfo(vid)]);
  if (await exists(layout.sessionsTmp(vid))) installs.push([layout.sessionsTmp(vid), layout.sessionsFile(vid)]);
  installs.push([layout.rootTmp, layout.archiveIni]);
  await store.renameBatch(installs);
  adoptRoot(archive, finalRoot);
  archive.forgetVolInfo(vid);
  await session.persist();
  await store.put(layout.rootBak, finalRoot.bytes);
  await copyFile(archive, layout.volinfo(vid), layout.volinfoBak(vid));
  await store.removeTree(layout.mergeDir(vid));
  await store.remove(layout.mergeList(vid));
}

/** Rolls back a merge that had not reached merge/: sessions move back, the journal is cleared. */
async function rollBackMerge(session: WriteSession, job: MergeJob): Promise<void> {
  const { writer } = session;
  const archive = writer.archive;
  const store = archive.store;
  const { vid } = job;
  const initDir = layout.mergeInitDir(vid);
  if (await store.stat(initDir)) {
    const back: (readonly [string, string])[] = [];
    for (const name of [job.target, ...job.sources]) {
      if ((await store.stat(layout.mergeInitEntry(vid, name))) && !(await store.stat(layout.sessionDir(vid, name))))
        back.push([layout.mergeInitEntry(vid, name), layout.sessionDir(vid, name)]);
    }
    await store.renameBatch(back);
    await store.removeTree(initDir);
  }
  await store.remove(layout.sessionInfoTmp(vid, job.target));
  await store.remove(layout.manifestTmp(vid, job.target));
  await store.remove(layout.mergeList(vid));
  await store.remove(layout.volinfoTmp(vid));
  await store.remove(layout.sessionsTmp(vid));
  await store.remove(layout.rootTmp);
  const root = writer.root({ ...archive.ini, inProcess: [] });
  await store.put(layout.archiveIni, root.bytes);
  adoptRoot(archive, root);
  await session.persist();
  await store.put(layout.rootBak, root.bytes);
}

/** archive.ini.tmp, checked: it authenticates, is newer, and differs from the journal root only in vid. */
async function readFinalRoot(archive: Archive, job: MergeJob): Promise<FinalRoot> {
  let bytes: Buffer;
  try {
    bytes = await archive.store.read(layout.rootTmp, MAX_ROOT_FILE_BYTES);
  } catch (error) {
    if (isNotFound(error)) throw journalProblem(job, `${layout.rootTmp} (the root after the merge) is missing`);
    throw error;
  }
  const ini = archive.decodeRoot(bytes, layout.rootTmp);
  const current = archive.ini;
  const sameOthers =
    ini.volumes.size === current.volumes.size && [...current.volumes].every(([v, hash]) => v === job.vid || ini.volumes.get(v) === hash);
  if (ini.uuid !== current.uuid || ini.inProcess.length > 0 || !ini.volumes.has(job.vid) || !sameOthers) {
    throw journalProblem(job, `${layout.rootTmp} does not describe the result of this merge`);
  }
  if (Number(ini.updatedAt) <= Number(current.updatedAt)) throw journalProblem(job, `${layout.rootTmp} is older than ${layout.archiveIni}`);
  // The volinfo it names must be the prepared one, and must no longer list the sources.
  const volinfoHash = valueFor(ini.volumes, job.vid);
  const volinfoPath = (await archive.store.stat(layout.volinfoTmp(job.vid))) ? layout.volinfoTmp(job.vid) : layout.volinfo(job.vid);
  const text = await archive.readMetadata(volinfoPath, volinfoHash, MAX_VOLINFO_BYTES, MAX_VOLINFO_TEXT);
  let volinfo: VolInfo;
  try {
    volinfo = parseVolInfo(text.toString('utf8'));
  } catch (error) {
    if (error instanceof VolInfoError) throw new IntegrityError(volinfoPath, error.message);
    throw error;
  }
  if (job.sources.some((s) => volinfo.sessions.has(s)) || !volinfo.sessions.has(job.target)) {
    throw journalProblem(job, `${volinfoPath} does not describe the result of this merge`);
  }
  return { bytes, ini, targetInfoHash: valueFor(volinfo.sessions, job.target) };
}

async function copyFile(archive: Archive, from: string, to: string): Promise<void> {
  try {
    await archive.store.put(to, await archive.store.read(from, MAX_VOLINFO_BYTES + 64));
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    // A .bak copy is a convenience for Wyng's recovery tools; the archive does not depend on it.
  }
}

function journalProblem(job: MergeJob, why: string): IntegrityError {
  return new IntegrityError(layout.archiveIni, `cannot complete the interrupted prune of ${job.vid}: ${why}`);
}

/** merge.lst as Wyng writes it (§15.2), for a Wyng that resumes this merge. */
export function mergeListText(plan: MergeMoves, target: SessionName, chunkSize: number): string {
  const lines = [`${plan.mergeTarget} ${target}`, ...plan.mergeSources, '###'];
  const ops: [number, string][] = [];
  const path = (session: string, index: number) => `${session}/${chunkDirName(index * chunkSize)}/${chunkFileName(index * chunkSize)}`;
  for (const move of plan.moves) ops.push([move.index, `rename ${path(move.from, move.index)} ${path(plan.mergeTarget, move.index)}`]);
  for (const index of plan.removals) ops.push([index, `-rm ${path(plan.mergeTarget, index)}`]);
  ops.sort((a, b) => a[0] - b[0]);
  return `${[...lines, ...ops.map(([, line]) => line)].join('\n')}\n`;
}
