// Names and tags of Skiff's LVM thin snapshots, so that Skiff and Wyng never take each other's.
//
// Every volume `<lv>` of a thin pool has two snapshot slots in the same VG: `<lv>.skiff1`, paired
// with the archive's newest session (or the last monitor run), and `<lv>.skiff2`, taken by the
// send or monitor in progress. A Skiff snapshot has BOTH the suffix and the tag `skiff`; Wyng's
// are `.tick`/`.tock` with the tag `wyng`, so neither program ever matches the other's. Tags:
//   skiff          every Skiff snapshot
//   arch-<uuid>    the archive that owns it (another archive's snapshot is skipped unless --remap)
//   S_<session>    the session it holds (added when it becomes .skiff1 after a send)
//   delta, delta-<ns>  taken by monitor: newer than the session, the deltamap holds the difference

export const SKIFF_TAG = 'skiff';
export const DELTA_TAG = 'delta';
const SUFFIX = /^(.+)\.skiff([12])$/;
/** LVM's longest LV name. */
const MAX_LV_NAME = 127;

export interface SnapshotNames {
  /** Paired with the newest session (snap1). */
  paired: string;
  /** Taken by this send or monitor (snap2). */
  next: string;
}

export function lvmSnapshotNames(lv: string): SnapshotNames {
  return { paired: `${lv}.skiff1`, next: `${lv}.skiff2` };
}

/** Whether `lv` leaves room for the snapshot suffix in LVM's 127-character names. */
export function fitsSnapshotSuffix(lv: string): boolean {
  return lv.length + '.skiff1'.length <= MAX_LV_NAME;
}

export function archiveTag(uuid: string): string {
  return `arch-${uuid}`;
}

/** `delta-<ns>`: the time of the monitor snapshot it marks. */
export function deltaTimeTag(timeNs: bigint): string {
  return `${DELTA_TAG}-${timeNs}`;
}

/** The tags a new snapshot gets (lvcreate --addtag). */
export function newSnapshotTags(uuid: string, byMonitor: boolean): string[] {
  return byMonitor ? [SKIFF_TAG, archiveTag(uuid), DELTA_TAG] : [SKIFF_TAG, archiveTag(uuid)];
}

/** The origin volume and slot of a snapshot-named LV (`vm-work-private.skiff2` → vm-work-private, 2), or null. */
export function parseSnapshotLvName(name: string): { origin: string; slot: 1 | 2 } | null {
  const m = SUFFIX.exec(name);
  if (!m || m[1] === undefined) return null;
  return { origin: m[1], slot: m[2] === '1' ? 1 : 2 };
}

/**
 * What an LV is to archive `uuid`: not a Skiff snapshot ('none': a foreign LV that merely has the
 * name, or Wyng's), one of this archive ('this'), or of another archive ('other').
 */
export function snapshotMembership(lv: { name: string; tags: readonly string[] }, uuid: string): 'none' | 'this' | 'other' {
  if (!parseSnapshotLvName(lv.name) || !lv.tags.includes(SKIFF_TAG)) return 'none';
  return lv.tags.includes(archiveTag(uuid)) ? 'this' : 'other';
}

/** The session tags (`S_…`) of a snapshot. */
export function sessionTags(tags: readonly string[]): string[] {
  return tags.filter((t) => t.startsWith('S_'));
}
