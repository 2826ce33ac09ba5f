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
// again from the sessions' own manifests (authenticated through the journal root's volinfo),
// each done only if its source file is still there, and the prepared files are checked against
// the final root's hash chain before they are installed.

import { gzipSync } from 'node:zlib';
import type { Archive, Volume } from '../../archive/archive.js';
import { MAX_ROOT_FILE_BYTES } from '../../archive/archive.js';
import type { ArchiveIni } from '../../archive/archive-ini.js';
import { chunkDirName, chunkFileName, layout, type SessionName, type VolumeId } from '../../archive/names.js';
import { formatSessionInfo, type SessionInfo } from '../../archive/session-info.js';
import { formatVolInfo, MAX_VOLINFO_BYTES, MAX_VOLINFO_TEXT, parseVolInfo, type VolInfo, VolInfoError } from '../../archive/volinfo.js';
import { IntegrityError } from '../../errors.js';
import { itemAt, valueFor } from '../../lookup.js';
import { isNotFound, StoreError } from '../../store/store.js';
// biome-ignore lint/suspicious/noImportCycles: known circle journal ↔ prune/merge-apply, volumes/delete (issue 13 item 1 moves the journal codec into archive/ and breaks it)
import { journalEntries } from '../maintain/journal.js';
import type { Output } from '../output.js';
import { manifestBytes, sessionsFileText } from '../send/commit.js';
import type { WriteContext } from '../write-context.js';
import { type MergePlan, planMerge } from './merge-plan.js';

const MERGE = 'merge';
const MERGE_INIT = 'merge-init';
const MOVES_DONE = 'CHECK-mv-rm';
const FINALIZING = 'CHECK-start-finalize';
const MERGE_LIST = 'merge.lst.gz';
/** Removals run this many at a time (a remote store pipelines them). */
const PARALLEL_REMOVALS = 32;

/** The root after the merge, and the hash its volinfo records for the target's new info. */
interface FinalRoot {
  bytes: Buffer;
  ini: ArchiveIni;
  targetInfoHash: string;
}

interface MergeJob {
  vid: VolumeId;
  target: SessionName;
  /** Oldest first. */
  sources: SessionName[];
}

/**
 * Removes `run` (consecutive sessions of `volume`, oldest first, not including its newest) by
 * merging them into the session that follows. Returns when the archive holds the result.
 */
export async function mergeSessions(ctx: WriteContext, volume: Volume, run: readonly SessionName[]): Promise<void> {
  const { archive, writer } = ctx;
  const store = archive.store;
  const vid = volume.vid;
  const first = volume.sessions.findIndex((s) => s.name === run[0]);
  const records = volume.sessions.slice(first, first + run.length);
  const target = volume.sessions[first + run.length];
  if (first < 0 || !target || records.some((s, i) => s.name !== run[i])) {
    throw new Error(`not a run of consecutive sessions before another: ${run.join(', ')}`);
  }
  const plan = planMerge({
    chunkSize: archive.chunkSize,
    sources: await Promise.all(records.map(async (s) => ({ name: s.name, manifest: await archive.loadManifest(vid, s) }))),
    target: { name: target.name, volsize: target.info.volsize, manifest: await archive.loadManifest(vid, target) },
  });

  // The merged state: the target takes the first source's place in the chain.
  const manifestText = manifestBytes(plan.manifest, archive.chunkSize);
  const sealedManifest = manifestText.length > 0 ? writer.sealMetadata(manifestText) : null;
  const info: SessionInfo = {
    ...target.info,
    previous: itemAt(records, 0).info.previous,
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

  const job: MergeJob = { vid, target: target.name, sources: [...run] };
  const journalRoot = writer.root({ ...archive.ini, inProcess: journalEntries({ kind: 'merge', ...job }) });
  const finalRoot = writer.root({
    ...archive.ini,
    updatedAt: journalRoot.ini.updatedAt,
    volumes: new Map([...archive.ini.volumes].map(([v, hash]) => [v, v === vid ? sealedVolinfo.hash : hash])),
    inProcess: [],
  });

  // Prepare: nothing here is visible to a reader; a crash leaves files the next write removes.
  const targetDir = layout.sessionDir(vid, target.name);
  if (sealedManifest) await store.put(`${targetDir}/manifest.z.tmp`, sealedManifest.bytes);
  await store.put(`${targetDir}/info.tmp`, sealedInfo.bytes);
  await store.put(`${vid}/sessions.tmp`, Buffer.from(sessionsFileText(remaining)));
  await store.put(`${vid}/volinfo.tmp`, sealedVolinfo.bytes);
  await store.put('archive.ini.tmp', finalRoot.bytes);
  await store.put(`${vid}/${MERGE_LIST}`, gzipSync(mergeListText(plan, target.name, archive.chunkSize)));

  // Journal: the commit point.
  await store.put('archive.ini', journalRoot.bytes);
  archive.ini = journalRoot.ini;
  archive.rootBytes = journalRoot.bytes;
  await ctx.persist();

  await initMerge(archive, job, plan.mergeTarget);
  await moveChunks(archive, job, plan, false);
  await finalizeMerge(ctx, job, plan.mergeTarget, { bytes: finalRoot.bytes, ini: finalRoot.ini, targetInfoHash: sealedInfo.hash });
}

/** Completes or rolls back an interrupted merge from the destination's state alone. */
export async function resumeMerge(ctx: WriteContext, job: MergeJob, out: Output): Promise<void> {
  const { archive } = ctx;
  const store = archive.store;
  const { vid } = job;
  const mergeTarget = itemAt(job.sources, 0);
  const mergeDir = `${vid}/${MERGE}`;
  if ((await store.stat(`${vid}/${MERGE_INIT}`)) || !(await store.stat(mergeDir))) {
    await rollBackMerge(ctx, job);
    out.line(`  Rolled back an interrupted prune of ${vid} (it had not started moving data).`);
    return;
  }
  if (!archive.ini.volumes.has(vid)) throw journalProblem(job, `${vid} is not in the archive`);
  const finalRoot = await readFinalRoot(archive, job);
  if (!(await store.stat(`${mergeDir}/${FINALIZING}`))) {
    // The moves may be part-way: plan them again from the sessions' own manifests.
    const oldVolinfo = await archive.readVolInfo(vid);
    const load = async (name: SessionName) => {
      const infoHash = oldVolinfo.sessions.get(name);
      if (!infoHash) throw journalProblem(job, `${name} is not a session of ${vid}`);
      const info = await archive.readSessionInfo(`${mergeDir}/${name}/info`, infoHash);
      return { name, info, manifest: await archive.readManifestAt(`${mergeDir}/${name}/manifest.z`, info) };
    };
    const sources = [];
    for (const name of job.sources) sources.push(await load(name));
    const target = await load(job.target);
    const plan = planMerge({
      chunkSize: archive.chunkSize,
      sources,
      target: { name: target.name, volsize: target.info.volsize, manifest: target.manifest },
    });
    await moveChunks(archive, job, plan, true);
  }
  await finalizeMerge(ctx, job, mergeTarget, finalRoot);
  out.line(`  Completed an interrupted prune of ${vid}.`);
}

/** init: the sessions of the merge move into merge-init/, which becomes merge/ in one rename. */
async function initMerge(archive: Archive, job: MergeJob, mergeTarget: SessionName): Promise<void> {
  const store = archive.store;
  const { vid } = job;
  const required = [`${vid}/${job.target}/info.tmp`, `${vid}/volinfo.tmp`, 'archive.ini.tmp'];
  for (const path of required) if (!(await store.stat(path))) throw new IntegrityError(path, 'missing before the merge could start');
  await store.removeTree(`${vid}/${MERGE}`);
  await store.removeTree(`${vid}/${MERGE_INIT}`);
  await store.mkdir(`${vid}/${MERGE_INIT}`);
  const names = [mergeTarget, job.target, ...job.sources.filter((s) => s !== mergeTarget)];
  await store.renameBatch(names.map((name) => [`${vid}/${name}`, `${vid}/${MERGE_INIT}/${name}`] as const));
  await store.renameBatch([[`${vid}/${MERGE_INIT}`, `${vid}/${MERGE}`]]);
}

/** moves: chunk files into merge/<mergeTarget>/; on a resume only those still at their source. */
async function moveChunks(archive: Archive, job: MergeJob, plan: MergePlan, resuming: boolean): Promise<void> {
  const store = archive.store;
  const chunkSize = archive.chunkSize;
  const base = `${job.vid}/${MERGE}`;
  const into = `${base}/${plan.mergeTarget}`;
  const dirs = new Set(plan.moves.map((m) => chunkDirName(m.index * chunkSize)));
  for (const dir of dirs) await store.mkdir(`${into}/${dir}`);

  let present: (from: SessionName, dir: string, file: string) => Promise<boolean> = async () => true;
  if (resuming) {
    const listings = new Map<string, Promise<Set<string>>>();
    present = async (from, dir, file) => {
      const key = `${base}/${from}/${dir}`;
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
      return (await listing).has(file);
    };
  }
  const renames: (readonly [string, string])[] = [];
  for (const move of plan.moves) {
    const address = move.index * chunkSize;
    const dir = chunkDirName(address);
    const file = chunkFileName(address);
    if (await present(move.from, dir, file)) renames.push([`${base}/${move.from}/${dir}/${file}`, `${into}/${dir}/${file}`]);
  }
  await store.renameBatch(renames);
  const removals = plan.removals.map((index) => `${into}/${chunkDirName(index * chunkSize)}/${chunkFileName(index * chunkSize)}`);
  for (let i = 0; i < removals.length; i += PARALLEL_REMOVALS) {
    await Promise.all(removals.slice(i, i + PARALLEL_REMOVALS).map((path) => store.remove(path)));
  }
  await store.put(`${base}/${MOVES_DONE}`, Buffer.alloc(0));
}

/** finalize: every step is skipped when already done, so it can be repeated after a crash. */
async function finalizeMerge(ctx: WriteContext, job: MergeJob, mergeTarget: SessionName, finalRoot: FinalRoot): Promise<void> {
  const { archive } = ctx;
  const store = archive.store;
  const { vid } = job;
  const base = `${vid}/${MERGE}`;
  const exists = async (path: string) => (await store.stat(path)) !== null;
  await store.put(`${base}/${FINALIZING}`, Buffer.alloc(0));
  if (await exists(`${base}/${mergeTarget}`)) {
    const renames: (readonly [string, string])[] = [];
    const infoTmp = `${base}/${job.target}/info.tmp`;
    if (await exists(infoTmp)) {
      // Checked against the final volinfo before it becomes the target's info.
      const info = await archive.readSessionInfo(infoTmp, finalRoot.targetInfoHash);
      renames.push([infoTmp, `${base}/${mergeTarget}/info`]);
      if (info.manifestHash === null) await store.remove(`${base}/${mergeTarget}/manifest.z`);
    }
    if (await exists(`${base}/${job.target}/manifest.z.tmp`)) {
      renames.push([`${base}/${job.target}/manifest.z.tmp`, `${base}/${mergeTarget}/manifest.z`]);
    }
    renames.push([`${base}/${mergeTarget}`, layout.sessionDir(vid, job.target)]);
    await store.renameBatch(renames);
  }
  const installs: (readonly [string, string])[] = [];
  if (await exists(`${vid}/volinfo.tmp`)) installs.push([`${vid}/volinfo.tmp`, layout.volinfo(vid)]);
  if (await exists(`${vid}/sessions.tmp`)) installs.push([`${vid}/sessions.tmp`, `${vid}/sessions`]);
  installs.push(['archive.ini.tmp', 'archive.ini']);
  await store.renameBatch(installs);
  archive.ini = finalRoot.ini;
  archive.rootBytes = finalRoot.bytes;
  archive.forgetVolInfo(vid);
  await ctx.persist();
  await store.put('archive.ini.bak', finalRoot.bytes);
  await copyFile(archive, layout.volinfo(vid), `${vid}/volinfo.bak`);
  await store.removeTree(base);
  await store.remove(`${vid}/${MERGE_LIST}`);
}

/** Rolls back a merge that had not reached merge/: sessions move back, the journal is cleared. */
async function rollBackMerge(ctx: WriteContext, job: MergeJob): Promise<void> {
  const { archive, writer } = ctx;
  const store = archive.store;
  const { vid } = job;
  const initDir = `${vid}/${MERGE_INIT}`;
  if (await store.stat(initDir)) {
    const back: (readonly [string, string])[] = [];
    for (const name of [job.target, ...job.sources]) {
      if ((await store.stat(`${initDir}/${name}`)) && !(await store.stat(`${vid}/${name}`)))
        back.push([`${initDir}/${name}`, `${vid}/${name}`]);
    }
    await store.renameBatch(back);
    await store.removeTree(initDir);
  }
  await store.remove(`${vid}/${job.target}/info.tmp`);
  await store.remove(`${vid}/${job.target}/manifest.z.tmp`);
  await store.remove(`${vid}/${MERGE_LIST}`);
  await store.remove(`${vid}/volinfo.tmp`);
  await store.remove(`${vid}/sessions.tmp`);
  await store.remove('archive.ini.tmp');
  const root = writer.root({ ...archive.ini, inProcess: [] });
  await store.put('archive.ini', root.bytes);
  archive.ini = root.ini;
  archive.rootBytes = root.bytes;
  await ctx.persist();
  await store.put('archive.ini.bak', root.bytes);
}

/** archive.ini.tmp, checked: it authenticates, is newer, and differs from the journal root only in vid. */
async function readFinalRoot(archive: Archive, job: MergeJob): Promise<FinalRoot> {
  let bytes: Buffer;
  try {
    bytes = await archive.store.read('archive.ini.tmp', MAX_ROOT_FILE_BYTES);
  } catch (error) {
    if (isNotFound(error)) throw journalProblem(job, 'archive.ini.tmp (the root after the merge) is missing');
    throw error;
  }
  const ini = archive.decodeRoot(bytes, 'archive.ini.tmp');
  const current = archive.ini;
  const sameOthers =
    ini.volumes.size === current.volumes.size && [...current.volumes].every(([v, hash]) => v === job.vid || ini.volumes.get(v) === hash);
  if (ini.uuid !== current.uuid || ini.inProcess.length > 0 || !ini.volumes.has(job.vid) || !sameOthers) {
    throw journalProblem(job, 'archive.ini.tmp does not describe the result of this merge');
  }
  if (Number(ini.updatedAt) <= Number(current.updatedAt)) throw journalProblem(job, 'archive.ini.tmp is older than archive.ini');
  // The volinfo it names must be the prepared one, and must no longer list the sources.
  const volinfoHash = valueFor(ini.volumes, job.vid);
  const volinfoPath = (await archive.store.stat(`${job.vid}/volinfo.tmp`)) ? `${job.vid}/volinfo.tmp` : layout.volinfo(job.vid);
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
  return new IntegrityError('archive.ini', `cannot complete the interrupted prune of ${job.vid}: ${why}`);
}

/** merge.lst as Wyng writes it (§15.2), for a Wyng that resumes this merge. */
function mergeListText(plan: MergePlan, target: SessionName, chunkSize: number): string {
  const lines = [`${plan.mergeTarget} ${target}`, ...plan.mergeSources, '###'];
  const ops: [number, string][] = [];
  const path = (session: string, index: number) => `${session}/${chunkDirName(index * chunkSize)}/${chunkFileName(index * chunkSize)}`;
  for (const move of plan.moves) ops.push([move.index, `rename ${path(move.from, move.index)} ${path(plan.mergeTarget, move.index)}`]);
  for (const index of plan.removals) ops.push([index, `-rm ${path(plan.mergeTarget, index)}`]);
  ops.sort((a, b) => a[0] - b[0]);
  return `${[...lines, ...ops.map(([, line]) => line)].join('\n')}\n`;
}
