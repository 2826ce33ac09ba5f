// Every session of every volume of an archive, restored through the engine's restore stream:
// what tests compare before and after an operation that must not change any session's bytes.

import type { Archive } from '../../source-agent/archive/archive.js';
import { planRestore, readChunks } from '../../source-agent/engine/restore/restore-stream.js';

export interface RestoredSession {
  /** The session's name (S_…). */
  name: string;
  bytes: Buffer;
}

/** Volume name → its sessions, oldest first. */
export async function restoreEverySession(archive: Archive): Promise<Map<string, RestoredSession[]>> {
  const out = new Map<string, RestoredSession[]>();
  for (const vid of archive.ini.volumes.keys()) {
    const volume = await archive.loadVolume(vid);
    const sessions: RestoredSession[] = [];
    for (let i = 0; i < volume.sessions.length; i++) {
      const plan = await planRestore(archive, volume, i);
      const bytes = Buffer.alloc(plan.session.info.volsize);
      for await (const chunk of readChunks(archive, plan.chunks)) if (chunk.data) chunk.data.copy(bytes, chunk.address);
      sessions.push({ name: plan.session.name, bytes });
    }
    out.set(volume.name, sessions);
  }
  return out;
}

/** Volume name → the bytes of its sessions, oldest first. */
export async function restoreImages(archive: Archive): Promise<Map<string, Buffer[]>> {
  const images = new Map<string, Buffer[]>();
  for (const [name, sessions] of await restoreEverySession(archive))
    images.set(
      name,
      sessions.map((s) => s.bytes),
    );
  return images;
}
