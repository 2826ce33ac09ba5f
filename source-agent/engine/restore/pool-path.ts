// Before a volume is received into a directory (`receive --local=DIR`), the path DIR/<name> is
// checked component by component without following anything: a symbolic link (as a directory of
// the name, or as the volume's file) is refused rather than followed or replaced, and a directory
// where the volume's file goes is named as such. The agent writes only where it resolved the path
// itself; a link is the user's layout, and replacing it would silently move the volume (Wyng
// follows it; `--save-to=<its target>` does that here, explicitly). DIR is the user's own storage,
// so the check is not a defence against a concurrent attacker, only against surprises.

import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoOf } from '../../../protocol/thrown.js';
import { InputError } from '../../errors.js';

/** Throws InputError (the volume fails alone) when DIR/<name> cannot be received into as a file. */
export async function checkPoolFilePath(dir: string, name: string, volume: string): Promise<void> {
  const target = join(dir, name);
  const cannot = (why: string) => new InputError(`Cannot receive '${volume}' into '${target}': ${why}`);
  const parts = name.split('/').filter((p) => p !== '');
  let path = dir;
  for (const [i, part] of parts.entries()) {
    path = join(path, part);
    const last = i === parts.length - 1;
    const stats = await lstat(path).catch((error: unknown) => {
      if (errnoOf(error) === 'ENOENT') return null;
      throw error;
    });
    // Missing: made by the receive (directories as needed), nothing to follow below it.
    if (stats === null) return;
    if (stats.isSymbolicLink())
      throw cannot(
        last
          ? 'it is a symbolic link, which receive --local neither follows nor replaces (--save-to=PATH writes the file it names).'
          : `'${path}' is a symbolic link, which receive --local does not follow.`,
      );
    if (last && stats.isDirectory()) throw cannot('it is a directory.');
    if (!last && !stats.isDirectory()) throw cannot(`'${path}' is not a directory.`);
  }
}
