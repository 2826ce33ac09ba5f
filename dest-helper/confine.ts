// Keeps every operation inside the archive directory. Paths from the agent are archive-relative
// (checked by isArchivePath); on top of that, no directory on the way may be a symlink, so a
// link planted in the archive cannot lead a write, read or removal outside it. Final components
// are opened with O_NOFOLLOW (or O_EXCL, which never follows) by the operations.

import { lstat, mkdir, realpath } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isArchivePath } from '../protocol/paths.js';
import { HelperError } from './helper-error.js';

export class ArchiveRoot {
  /** Directories (absolute) known to be real directories inside the root. */
  private readonly checked = new Set<string>();

  private constructor(readonly root: string) {}

  /** Opens the archive directory (creating it when asked); it must be a directory. */
  static async open(path: string, create: boolean): Promise<ArchiveRoot> {
    if (path === '' || path.includes('\0')) throw new HelperError('EINVAL', 'archive path is empty or has a NUL');
    if (create) await mkdir(path, { recursive: true });
    const real = await realpath(path);
    const info = await lstat(real);
    if (!info.isDirectory()) throw new HelperError('ENOTDIR', `${path} is not a directory`);
    return new ArchiveRoot(real);
  }

  /** The absolute path for an archive path; its parent directories are checked, not created. */
  async resolve(path: string): Promise<string> {
    if (!isArchivePath(path)) throw new HelperError('EINVAL', `${JSON.stringify(path)}: not a clean archive-relative path`);
    if (path === '.') return this.root;
    const abs = join(this.root, path);
    await this.checkDirectories(dirname(abs), false);
    return abs;
  }

  /** As resolve, creating missing parent directories. */
  async resolveCreating(path: string): Promise<string> {
    if (!isArchivePath(path) || path === '.') throw new HelperError('EINVAL', `${JSON.stringify(path)}: not a clean archive-relative path`);
    const abs = join(this.root, path);
    await this.checkDirectories(dirname(abs), true);
    return abs;
  }

  /** A directory path itself (for list, mkdir, fsyncDir): it and its parents must not be links. */
  async resolveDirectory(path: string, create: boolean): Promise<string> {
    if (!isArchivePath(path)) throw new HelperError('EINVAL', `${JSON.stringify(path)}: not a clean archive-relative path`);
    const abs = path === '.' ? this.root : join(this.root, path);
    await this.checkDirectories(abs, create);
    return abs;
  }

  /** Forget what was checked under a path that is being renamed or removed. */
  forget(abs: string): void {
    for (const dir of this.checked) if (dir === abs || dir.startsWith(`${abs}/`)) this.checked.delete(dir);
  }

  private async checkDirectories(dir: string, create: boolean): Promise<void> {
    if (dir === this.root || this.checked.has(dir)) return;
    await this.checkDirectories(dirname(dir), create);
    let info = await lstat(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' && create) return null;
      throw error;
    });
    if (!info) {
      await mkdir(dir).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
      info = await lstat(dir);
    }
    if (info.isSymbolicLink()) throw new HelperError('EACCES', `${this.relative(dir)} is a symbolic link; refusing to follow it`);
    if (!info.isDirectory()) throw new HelperError('ENOTDIR', `${this.relative(dir)} is not a directory`);
    this.checked.add(dir);
  }

  relative(abs: string): string {
    return abs === this.root ? '.' : abs.slice(this.root.length + 1);
  }

  /** The parent directory and name of an absolute path inside the root. */
  static split(abs: string): [string, string] {
    return [dirname(abs), basename(abs)];
  }
}
