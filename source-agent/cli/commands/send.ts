import { resolve } from 'node:path';
import { Command, Option } from 'clipanion';
import {
  isMetadataVolume,
  isPrintable,
  MAX_TAG_ID_CHARS,
  MAX_TAGS_PER_SESSION,
  tagIdProblem,
  volumeNameProblem,
} from '../../archive/names.js';
import type { Output } from '../../engine/output.js';
import { localDate } from '../../engine/prune/calendar.js';
import { prune } from '../../engine/prune/prune.js';
import { parseKeepOption } from '../../engine/prune/select.js';
import { buildVolumeIndex, compareCodePoints } from '../../engine/select/volume-index.js';
import { type SendVolume, send } from '../../engine/send/send.js';
import { checkDescription } from '../../engine/volumes/description.js';
import { onlineLocal, renameVolumeSnapshots } from '../../engine/volumes/local-snapshots.js';
import { renameVolume } from '../../engine/volumes/rename.js';
import { ChunkPool } from '../../engine/workers/chunk-pool.js';
import type { WriteContext } from '../../engine/write-context.js';
import { InputError, VolumeErrors } from '../../errors.js';
import { itemAt } from '../../lookup.js';
import { type ImportSpec, parseImportSpec, prepareImport } from '../../source/import-source.js';
import { type LocalPool, openLocalPool } from '../../source/local-pool.js';
import { LvmDeltaBatch } from '../../source/lvm/delta-batch.js';
import { releaseStaleReservation } from '../../source/lvm/lvm-pool.js';
import { prepareLvmVolume } from '../../source/lvm-source.js';
import { prepareReflinkVolume } from '../../source/reflink-source.js';
import { readLine } from '../../sys/terminal.js';
import { allOption, localOption, volexOption, volsFromOption, volumesRest } from '../options.js';
import { SendOutput } from '../send-output.js';
import { loadVolsFrom, type VolsFrom, writeErrorFile } from '../vols-from.js';
import { WriteCommand } from '../write-command.js';
import { requireVolumes } from './common.js';
import { apdaysOption, autopruneOption, autopruneSettings, keepOption } from './prune.js';

/** Parses --tag values: "id[,description]" (id lower-cased, at most 25 characters). */
export function parseTags(values: readonly string[]): Map<string, string> {
  const tags = new Map<string, string>();
  for (const value of values) {
    const comma = value.indexOf(',');
    const id = (comma < 0 ? value : value.slice(0, comma)).trim().toLowerCase().slice(0, MAX_TAG_ID_CHARS);
    const desc = comma < 0 ? '' : value.slice(comma + 1).trim();
    const problem = tagIdProblem(id);
    if (problem) throw new InputError(`Invalid tag '${value}': ${problem}`);
    if (!isPrintable(desc) || [...desc].length > 100)
      throw new InputError(`Invalid tag '${value}': the description must be printable, at most 100 characters.`);
    tags.set(id, desc);
  }
  if (tags.size > MAX_TAGS_PER_SESSION) throw new InputError(`${MAX_TAGS_PER_SESSION} maximum tags.`);
  return tags;
}

/** wyng-*metadata volumes first (they describe the others), then imports, then the rest by name. */
export function sendOrder(names: readonly string[], imports: ReadonlySet<string>): string[] {
  const rank = (n: string) => (isMetadataVolume(n) ? 0 : imports.has(n) ? 1 : 2);
  return [...names].sort((a, b) => rank(a) - rank(b) || compareCodePoints(a, b));
}

export class SendCommand extends WriteCommand {
  static override paths = [['send']];
  static override operands = '[VOLUME...]';
  static override usage = Command.Usage({
    description: 'Back up volumes to the archive as a new session.',
    details: `
      Volumes are files under --local (a Btrfs subvolume, or XFS with --vouch=reflink_fs_xfs
      --vouch=fs_online_factors), or thin LVs of an LVM thin pool given as --local=VG/POOL. Skiff
      keeps a read-only snapshot of each volume (a reflink copy next to the file, or a thin
      snapshot <lv>.skiff1 in the VG) and reads only the chunks that changed since the last send
      (file extents, or thin_delta on the pool's metadata). Files or block devices elsewhere can
      be sent whole with --import-other-from=VOLUME:|:PATH.
    `,
    examples: [
      ['Send the private volume of a Qubes VM', 'skiff --dest=file:/mnt/backup --local=qubes_dom0/vm-pool send vm-work-private'],
      ['Send two volumes', 'skiff --dest=file:/mnt/backup --local=/var/lib/images send work.img mail.img'],
      ['Send every volume already in the archive', 'skiff --dest=file:/mnt/backup --local=/var/lib/images send -a'],
    ],
  });

  local = localOption();
  all = allOption();
  volex = volexOption();
  importOtherFrom = Option.Array('--import-other-from', [], {
    description: 'Send the file or block device PATH whole as VOLUME (repeatable)',
  });
  tag = Option.Array('--tag', [], { description: 'Tag the new session: ID[,description] (repeatable, up to 5)' });
  volumeDesc = Option.String('--volume-desc', '', {
    description: 'Description of the volumes this send adds to the archive (printable, at most 100 UTF-8 bytes)',
  });
  sendUnchanged = Option.Boolean('--send-unchanged', false, { description: 'Make a session even for volumes that did not change' });
  autoprune = autopruneOption();
  apdays = apdaysOption();
  keep = keepOption();
  dedup = Option.Boolean('-d,--dedup', false, { description: 'Store chunks the archive already has as hard links to them' });
  remap = Option.Boolean('--remap', false, {
    description: "LVM: remove another archive's snapshots of a volume (it is then read whole) instead of skipping it",
  });
  dryRun = Option.Boolean('--dry-run', false, { description: 'Show what would be sent (an estimate); change nothing' });
  volsFrom = volsFromOption();
  vouch = Option.Array('--vouch', [], {
    description: 'reflink_fs_<type> and fs_online_factors: allow a reflink file system other than Btrfs',
  });
  volumes = volumesRest();

  async run(): Promise<number> {
    // The summary's time counts from here: passphrase, key derivation and tag prompts included.
    const startedMs = performance.now();
    const startedAt = new Date(this.context.now() * 1000);
    checkDescription(this.volumeDesc);
    const imports = this.importOtherFrom.map((spec) => parseImportSpec(spec, this.context.cwd));
    const volsFrom = loadVolsFrom(this.volsFrom, this.context.cwd, this.volumes, this.context.stderr);
    const fromSets = (volsFrom?.sets ?? []).flatMap((set) => set.volumes.flatMap((v) => (v.alias ? [v.name, v.alias] : [v.name])));
    if (imports.length === 0 && !volsFrom) requireVolumes(this.volumes, this.all, 'send');
    for (const name of [...this.volumes, ...imports.map((i) => i.volume), ...fromSets]) {
      const problem = volumeNameProblem(name);
      if (problem) throw new InputError(`${problem} (${JSON.stringify(name)})`);
    }
    // --tag= or --tag=@ asks for the tags on the terminal (after the archive opens, as Wyng).
    const promptForTags = this.tag.length > 0 && (this.tag.every((t) => t === '') || this.tag.includes('@'));
    if (promptForTags && !this.attended)
      throw new InputError('--tag= (or --tag=@) asks for tags on the terminal, which needs an interactive run.');
    const tags = promptForTags ? new Map<string, string>() : parseTags(this.tag);
    // The send workers start once the archive is open: loading them (a few MiB each, one per
    // core) during key derivation would add to its 512 MiB peak.
    const workers: { pool: ChunkPool | null } = { pool: null };
    try {
      return await this.sendWith(workers, { at: startedAt, ms: startedMs }, imports, tags, promptForTags, volsFrom);
    } finally {
      await workers.pool?.close();
    }
  }

  private async sendWith(
    workers: { pool: ChunkPool | null },
    started: { at: Date; ms: number },
    imports: readonly ImportSpec[],
    givenTags: Map<string, string>,
    promptForTags: boolean,
    volsFrom: VolsFrom | null,
  ): Promise<number> {
    let tags = givenTags;
    const startedAt = started.at;
    const out = this.consoleOutput();
    this.banner(out);
    const calendar = autopruneSettings(this.autoprune, this.apdays);
    const keep = parseKeepOption(this.keep);
    const ctx = await this.openForWrite(out);
    const { archive, state, writer, persist } = ctx;
    const chunkPool = new ChunkPool();
    workers.pool = chunkPool;
    {
      if (promptForTags) tags = await this.promptTags();
      const autoprune = (names: string[], neededBytes: number) =>
        prune(
          ctx,
          {
            names,
            allVolumes: false,
            session: null,
            allBefore: false,
            keep,
            mode: calendar.mode,
            apdays: calendar.apdays,
            today: localDate(new Date(this.context.now() * 1000)),
            neededBytes,
          },
          out,
        );
      if (calendar.mode === 'full' && !this.dryRun) {
        // Wyng: before anything is sent, every volume of the archive (metadata volumes excepted).
        const index = await buildVolumeIndex(archive);
        const all = [...index.byName.keys()].filter((n) => !isMetadataVolume(n));
        for (const result of await autoprune(all, 0)) if (result.removed > 0) out.line(`${result.name} -${result.removed}`);
      }
      const importNames = new Set(imports.map((i) => i.volume));
      // --vols-from: its sets replace the volumes named (as in Wyng); each volume has its set's --local.
      const poolOf = new Map<string, string | undefined>();
      if (volsFrom) await this.applyAliases(ctx, volsFrom, out);
      const fromSets = (volsFrom?.sets ?? []).flatMap((set) =>
        set.volumes.map((v) => ({ name: v.alias ?? v.name, local: set.local ?? this.local })),
      );
      for (const v of fromSets) poolOf.set(v.name, v.local);
      const names = new Set([...(volsFrom ? fromSets.map((v) => v.name) : this.volumes), ...importNames]);
      if (this.all) {
        for (const vid of archive.ini.volumes.keys()) {
          const name = (await archive.readVolInfo(vid)).name;
          if (!this.volex.includes(name)) names.add(name);
        }
      }
      const localNames = [...names].filter((n) => !importNames.has(n));
      // One pool per distinct --local, opened once, in the order the volumes name them.
      const pools = new Map<string, LocalPool>();
      for (const name of localNames) {
        const spec = poolOf.has(name) ? poolOf.get(name) : this.local;
        const key = spec ?? '';
        if (pools.has(key)) continue;
        const local = await this.localPool(spec);
        pools.set(key, local);
        if (local.kind === 'reflink') out.line(`\nPreparing snapshots in '${resolve(local.pool.path)}/'...`);
        if (local.kind === 'lvm') {
          out.line(`\nPreparing snapshots in '${local.pool.vg}/${local.pool.pool}/'...`);
          if (await releaseStaleReservation(local.pool))
            out.line(`  Released a metadata snapshot of ${local.pool.vg}/${local.pool.pool} that an earlier run left reserved.`);
        }
      }
      const poolFor = (name: string) => pools.get((poolOf.has(name) ? poolOf.get(name) : this.local) ?? '');
      const batch = new LvmDeltaBatch();
      const volumes: SendVolume[] = sendOrder([...names], importNames).map((name) => {
        const importSpec = imports.find((i) => i.volume === name);
        return {
          name,
          prepare: async ({ vid, last }) => {
            if (importSpec) {
              if (name !== 'wyng-metadata') out.line(`  Queuing full scan of import '${name}'`);
              return prepareImport(importSpec.path);
            }
            // Every volume not imported is in localNames, for which the pool was opened.
            const local = poolFor(name);
            if (!local) throw new Error(`no snapshot pool for '${name}'`);
            const lastSession = last
              ? { name: last.name, sequence: last.info.sequence, volsize: last.info.volsize, permissions: last.info.permissions }
              : null;
            if (local.kind === 'lvm') {
              return prepareLvmVolume({
                pool: local.pool,
                name,
                vid,
                uuid: archive.ini.uuid,
                chunkSize: archive.chunkSize,
                state,
                last: lastSession,
                remap: this.remap,
                batch,
                signal: this.context.signal,
                note: (text) => out.line(text),
              });
            }
            return prepareReflinkVolume({
              pool: local.pool,
              name,
              vid,
              uuid: archive.ini.uuid,
              chunkSize: archive.chunkSize,
              state,
              last: lastSession,
              note: (text) => out.line(text),
            });
          },
        };
      });
      const allTags = new Map(tags);
      for (const t of [...pools.values()].flatMap((p) => (p.kind === 'reflink' ? p.pool.tags : [])))
        if (!allTags.has(t) && allTags.size < MAX_TAGS_PER_SESSION) allTags.set(t, '');
      const display = new SendOutput(out, started.ms);
      const reports = await send(
        {
          writer,
          volumes,
          tags: allTags,
          sendUnchanged: this.sendUnchanged,
          dryRun: this.dryRun,
          dedup: this.dedup,
          verbose: out.verbose,
          newVolumeDesc: checkDescription(this.volumeDesc),
          startedAt,
          signal: this.context.signal,
          afterCommit: persist,
          ...(calendar.mode === 'off'
            ? {}
            : {
                makeRoom: async (volume: { name: string }, neededBytes: number) => {
                  out.line(`  Pruning '${volume.name}' to make room (${Math.ceil(neededBytes / 1048576)} MiB needed).`);
                  for (const result of await autoprune([volume.name], neededBytes)) out.line(`${result.name} -${result.removed}`);
                },
              }),
          pool: chunkPool,
          // Wyng's line before the delta scan, when any volume has one (reflink volumes scanned while prepared).
          acquireDeltas: async (prepared) => {
            if (batch.size > 0 || prepared.some((p) => !p.unchanged && p.changed !== null)) out.line('Acquiring deltas.');
            await batch.acquire();
          },
        },
        display,
      );
      display.summary();
      const failed = reports.filter((r) => r.outcome === 'failed').map((r) => r.name);
      if (failed.length > 0) {
        if (volsFrom && !this.dryRun) writeErrorFile(volsFrom, failed);
        throw new VolumeErrors(failed);
      }
      return 0;
    }
  }

  /**
   * --vols-from aliases: the archive volume is renamed to its alias (the local name) before the
   * send, unless the archive has a volume of that name already (Wyng's rule). Its local snapshot
   * follows as with `rename` (kept when the alias exists locally, else dropped: a full read).
   * Not in a dry run.
   */
  private async applyAliases(ctx: WriteContext, volsFrom: VolsFrom, out: Output): Promise<void> {
    const index = await buildVolumeIndex(ctx.archive);
    for (const set of volsFrom.sets) {
      for (const { name, alias } of set.volumes) {
        if (alias === null || !index.byName.has(name) || index.byName.has(alias)) continue;
        if (this.dryRun) {
          out.line(`  Would rename '${name}' to '${alias}'.`);
          continue;
        }
        const vid = await renameVolume(ctx, { from: name, to: alias, desc: undefined });
        out.line(`  Renamed '${name}' to '${alias}'.`);
        const spec = set.local ?? this.local;
        const local = await onlineLocal(spec === undefined ? undefined : resolve(this.context.cwd, spec));
        if (local) await renameVolumeSnapshots({ local, uuid: ctx.archive.ini.uuid, vid, from: name, to: alias, state: ctx.state }, out);
      }
    }
  }

  /** Wyng's tag prompt: "tagID[, description]" per line, a blank line ends, at most 5. */
  private async promptTags(): Promise<Map<string, string>> {
    const err = this.context.stderr;
    const tags = new Map<string, string>();
    err.write("Enter tag info as 'tagID[, tag description]'. Blank to end input.\n");
    while (tags.size < MAX_TAGS_PER_SESSION) {
      err.write(`[${tags.size + 1}]: `);
      // End of input (Ctrl-D) ends the tags as a blank line does.
      const line = ((await readLine(this.context.stdin)) ?? '').trim();
      if (line === '') break;
      try {
        const [id, desc] = itemAt([...parseTags([line])], 0);
        if (tags.has(id)) err.write('(not added)\n');
        else tags.set(id, desc);
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        err.write(`Error: ${error.message}\n(not added)\n`);
      }
    }
    err.write(`${tags.size} tags total.\n`);
    return tags;
  }

  private async localPool(local: string | undefined): Promise<LocalPool> {
    if (local === undefined || local === '') throw new InputError('Send needs --local (or --import-other-from for volumes outside it).');
    return openLocalPool(local, { cwd: this.context.cwd, vouch: this.vouch, env: this.context.env });
  }
}
