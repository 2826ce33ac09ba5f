// User and group names to ids, for restoring a session's "mode:user:group" permissions.
// Node has no getpwnam(), so this reads /etc/passwd and /etc/group (local accounts only, which
// is what dom0 and disk-image hosts use).

import { readFileSync } from 'node:fs';

function entries(file: string): string[][] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .map((line) => line.split(':'));
  } catch {
    return [];
  }
}

function lookup(file: string, name: string): number | null {
  for (const fields of entries(file)) {
    if (fields[0] === name && fields[2] !== undefined && /^[0-9]+$/.test(fields[2])) return Number(fields[2]);
  }
  return null;
}

function reverse(file: string, id: number): string | null {
  for (const fields of entries(file)) if (fields[2] === String(id) && fields[0]) return fields[0];
  return null;
}

export function userName(uid: number): string | null {
  return reverse('/etc/passwd', uid);
}

export function groupName(gid: number): string | null {
  return reverse('/etc/group', gid);
}

export function userId(name: string): number | null {
  return /^[0-9]+$/.test(name) ? Number(name) : lookup('/etc/passwd', name);
}

export function groupId(name: string): number | null {
  return /^[0-9]+$/.test(name) ? Number(name) : lookup('/etc/group', name);
}
