// User and group names to ids, for restoring a session's "mode:user:group" permissions.
// Node has no getpwnam(), so this reads /etc/passwd and /etc/group (local accounts only, which
// is what dom0 and disk-image hosts use).

import { readFileSync } from 'node:fs';

function lookup(file: string, name: string): number | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name && fields[2] !== undefined && /^[0-9]+$/.test(fields[2])) return Number(fields[2]);
  }
  return null;
}

export function userId(name: string): number | null {
  return /^[0-9]+$/.test(name) ? Number(name) : lookup('/etc/passwd', name);
}

export function groupId(name: string): number | null {
  return /^[0-9]+$/.test(name) ? Number(name) : lookup('/etc/group', name);
}
