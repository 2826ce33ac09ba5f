// receive of one volume into `--local` (behavior spec §5.2–5.4): the LV of an LVM thin pool, or
// the file `<local>/<name>` of a reflink or plain file pool. This is the one path every pool
// kind goes through, so the snapshot options mean the same everywhere:
// * --use-snapshot / --use-snapshot-diff, when the paired snapshot holds the newest session as
//   recorded (reflink and LVM pools; paired state "Y"): the newest session is the snapshot itself
//   ("Snapshot retrieved.", no chunk is read); an older one starts from a copy of it and is
//   either received whole over it (only differing chunks written) or, with -diff, only the
//   chunks later sessions changed are read ("Using snapshot as baseline.").
// * no usable snapshot: a normal receive, or with --req-snapshot the volume fails (exit 2),
//   metadata volumes excepted; nothing is written then.
// * after the newest session arrived in a reflink or LVM pool it is paired again, so the next
//   send is incremental. A file is always written under a temporary name and renamed over the
//   old one only when complete (restore-target.ts).
// * the local name is the volume's archive name, or the alias a --vols-from set gives it (§9.6):
//   the LV or file of that name is written and paired; messages name the archive volume.

import { join } from 'node:path';
import type { Archive, Volume } from '../../archive/archive.js';
import { isMetadataVolume, sessionLabel } from '../../archive/names.js';
import { localtimeNs } from '../../archive/session-info.js';
import { itemAt } from '../../lookup.js';
import type { LocalState } from '../../state/local-state.js';
import type { Output } from '../output.js';
import type { SessionChoice } from '../select/session-select.js';
import { checkPoolFilePath } from './pool-path.js';
import { receiveVolume } from './receive.js';
import type { ReceivePool } from './receive-pool.js';
import { keepReflinkPairing, type ReflinkVolume, repairReflinkVolume, usableSnapshot } from './reflink-pairing.js';
import { openRestoreTarget } from './restore-target.js';
import { changedAfter } from './snapshot-baseline.js';
import { repairThinVolume } from './thin-pairing.js';
import { type ThinSnapshotVolume, thinVolumeFromSnapshot, usableThinSnapshot } from './thin-snapshot-restore.js';
import { applyLvPermission, prepareThinVolume } from './thin-target.js';

export type SnapshotUse = 'off' | 'full' | 'diff';

export interface PoolReceiveRequest {
  archive: Archive;
  volume: Volume;
  choice: SessionChoice;
  pool: ReceivePool;
  /** The LV or file name in the pool (a --vols-from alias); the archive name when absent. */
  localName?: string | undefined;
  state: LocalState | null;
  signal: AbortSignal;
  skipCorrupt: boolean;
  /** --sparse-write / --sparse: used when no snapshot is (Wyng: --sparse is the fallback then). */
  sparse?: 'write' | 'fetch' | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  useSnapshot: SnapshotUse;
  /** --use-snapshot or --use-snapshot-diff was given (not only implied by --req-snapshot). */
  snapshotAsked: boolean;
  requireSnapshot: boolean;
}

export type PoolReceiveResult = { outcome: 'received'; skipped: number } | { outcome: 'no-snapshot' };

/** Where the volume goes in the pool. */
export function poolTarget(pool: ReceivePool, name: string): string {
  return pool.kind === 'lvm' ? `/dev/${pool.pool.vg}/${name}` : join(pool.path, name);
}

export async function receiveIntoPool(request: PoolReceiveRequest, out: Output): Promise<PoolReceiveResult> {
  const { archive, volume, choice, pool, state } = request;
  const session = choice.session;
  const newest = itemAt(volume.sessions, volume.sessions.length - 1);
  const isNewest = choice.index === volume.sessions.length - 1;
  const localName = request.localName ?? volume.name;
  const target = poolTarget(pool, localName);
  if (pool.kind !== 'lvm') await checkPoolFilePath(pool.path, localName, volume.name);
  const reflink: ReflinkVolume | null =
    pool.kind === 'reflink' && state ? { volumePath: target, uuid: archive.ini.uuid, vid: volume.vid, state } : null;
  const thin: ThinSnapshotVolume | null =
    pool.kind === 'lvm' && state ? { pool: pool.pool, uuid: archive.ini.uuid, vid: volume.vid, name: localName, state } : null;
  let snapshot: string | null = null;
  if (request.useSnapshot !== 'off') {
    if (reflink) snapshot = await usableSnapshot(reflink, newest);
    else if (thin) snapshot = await usableThinSnapshot(thin, newest);
  }
  // --req-snapshot: served from the snapshot means the newest session, or an older one over it
  // when --use-snapshot(-diff) asked for that (Wyng refuses `--req-snapshot --session=<older>`).
  const served = snapshot !== null && (isNewest || request.snapshotAsked);
  // Wyng's two lines, for the paths that do not go through receiveVolume (which prints its own).
  const heading = () => out.line(`\nReceiving volume '${volume.name}' ${sessionLabel(session.name)}`);
  const announce = (savingTo: string) => {
    heading();
    out.line(`Saving to ${savingTo}`);
  };
  const notPairing = () => out.warn(`  Not pairing '${volume.name}': no local state this run; the next send reads it whole.`);
  if (!served && request.requireSnapshot && !isMetadataVolume(volume.name)) {
    announce(`${pool.kind === 'lvm' ? 'tlvm pool' : 'file'} '${target}'`);
    return { outcome: 'no-snapshot' };
  }
  const options = {
    signal: request.signal,
    skipCorrupt: request.skipCorrupt,
    env: request.env,
    sparse: snapshot ? undefined : request.sparse,
  };
  const only = snapshot && !isNewest && request.useSnapshot === 'diff' ? await changedAfter(archive, volume, choice.index) : undefined;

  if (pool.kind === 'lvm') {
    if (snapshot && thin) {
      await thinVolumeFromSnapshot(thin, snapshot, session.info.volsize);
      if (isNewest) {
        announce(`tlvm pool '${target}'`);
        await applyLvPermission(pool.pool.lvm, pool.pool.vg, localName, session.info.permissions);
        out.line('Snapshot retrieved.');
        return { outcome: 'received', skipped: 0 };
      }
    } else {
      await prepareThinVolume(pool.pool, localName, session.info.volsize, out);
    }
    const result = await receiveVolume(archive, volume, choice, target, out, {
      ...options,
      target: snapshot ? { keepContent: true, kind: 'tlvm pool' } : { discard: true, kind: 'tlvm pool' },
      ...(only ? { only, note: 'Using snapshot as baseline.' } : {}),
    });
    await applyLvPermission(pool.pool.lvm, pool.pool.vg, localName, session.info.permissions);
    if (result.skipped === 0 && isNewest) {
      if (state) await repairThinVolume({ pool: pool.pool, uuid: archive.ini.uuid, vid: volume.vid, name: localName, session, state }, out);
      else notPairing();
    }
    return { outcome: 'received', skipped: result.skipped };
  }

  if (snapshot && reflink && isNewest) {
    heading();
    const copy = await openRestoreTarget(target, session.info.volsize, archive.chunkSize, { baseline: snapshot });
    out.line(`Saving to ${copy.description}`);
    await copy.commit({ permissions: session.info.permissions, mtimeNs: localtimeNs(session.info) });
    await keepReflinkPairing(reflink);
    out.line('Snapshot retrieved.');
    return { outcome: 'received', skipped: 0 };
  }
  const result = await receiveVolume(archive, volume, choice, target, out, {
    ...options,
    ...(snapshot ? { target: { baseline: snapshot } } : {}),
    ...(only ? { only, note: 'Using snapshot as baseline.' } : {}),
  });
  if (result.skipped === 0 && isNewest && pool.kind === 'reflink') {
    if (reflink) await repairReflinkVolume(reflink, session);
    else notPairing();
  }
  return { outcome: 'received', skipped: result.skipped };
}
