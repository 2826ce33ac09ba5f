// Creating a directory and its missing parents. Node's own `mkdir(…, { recursive: true })`
// loops forever at 100% CPU where mkdir fails with ENOENT although the parent exists (on /proc
// and /sys: `--meta-dir=/proc/nope`), because it takes every ENOENT for a missing parent. This
// walks down from the first existing ancestor once, so every failure ends it with that error.

import * as fs from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { errnoOf } from '../../protocol/thrown.js';

/**
 * mkdir -p: creates `path` and its missing parents (new ones get `mode`); an existing directory
 * is fine. Returns the directories it created, outermost first (a caller may remove them again).
 */
export async function makeDirs(path: string, mode = 0o777): Promise<string[]> {
  const missing: string[] = [];
  let at = resolve(path);
  for (;;) {
    const stats = await fs.stat(at).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (stats) {
      if (!stats.isDirectory()) throw Object.assign(new Error(`'${at}' is not a directory`), { code: 'ENOTDIR' });
      break;
    }
    missing.push(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  const created: string[] = [];
  for (const dir of missing.reverse()) {
    try {
      await fs.mkdir(dir, { mode });
      created.push(dir);
    } catch (error) {
      // Made by someone else meanwhile: fine if it is a directory (mkdir -p's rule).
      if (errnoOf(error) !== 'EEXIST' || !(await fs.stat(dir)).isDirectory()) throw error;
    }
  }
  return created;
}

/** Removes directories makeDirs created, innermost first, as long as they are empty (rmdir's rule). */
export async function removeEmptyDirs(created: readonly string[]): Promise<void> {
  for (const dir of [...created].reverse()) {
    try {
      await fs.rmdir(dir);
    } catch {
      return; // not empty (or gone): it and its parents stay
    }
  }
}
