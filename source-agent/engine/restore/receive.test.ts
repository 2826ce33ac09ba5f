import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FIXTURES, fixtureArchive } from '../../../test/helpers/paths.js';
import { Archive } from '../../archive/archive.js';
import type { VolumeId } from '../../archive/names.js';
import { InterruptedError } from '../../errors.js';
import { LocalStore } from '../../store/local-store.js';
import type { Output, Progress } from '../output.js';
import { chooseSession } from '../select/session-select.js';
import { receiveVolume } from './receive.js';

const dir = mkdtempSync(join(tmpdir(), 'skiff-receive-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function captureOutput(): Output & { lines: string[] } {
  const lines: string[] = [];
  const progress: Progress = { update() {}, end: (s) => lines.push(`end ${s}`), abandon: () => lines.push('abandon') };
  return {
    verbose: false,
    lines,
    line: (t = '') => lines.push(t),
    write: (t) => lines.push(t),
    warn: (t) => lines.push(`! ${t}`),
    progress: () => progress,
  };
}

async function openPlain() {
  const archive = await Archive.open(new LocalStore(fixtureArchive('plain-zlib-64k')), { passphrase: async () => Buffer.alloc(0) });
  const volume = await archive.loadVolume('Vol_8c7da2' as VolumeId);
  const choice = chooseSession(volume, { kind: 'newest' }, true);
  if (typeof choice === 'string') throw new Error(choice);
  return { archive, volume, choice };
}

describe('receiveVolume', () => {
  it('restores the newest session byte-identical through the engine', async () => {
    const { archive, volume, choice } = await openPlain();
    const target = join(dir, 'ok', 'vol2.img');
    const out = captureOutput();
    await receiveVolume(archive, volume, choice, target, out, { skipCorrupt: false });
    assert.ok(readFileSync(target).equals(readFileSync(join(FIXTURES, 'plain-zlib-64k/vol2.session4.img'))));
    assert.ok(out.lines.includes('end : OK '));
  });

  it('stops on interrupt and leaves no file behind', async () => {
    const { archive, volume, choice } = await openPlain();
    const controller = new AbortController();
    controller.abort();
    const target = join(dir, 'interrupted', 'vol2.img');
    await assert.rejects(
      receiveVolume(archive, volume, choice, target, captureOutput(), { skipCorrupt: false, signal: controller.signal }),
      InterruptedError,
    );
    assert.deepEqual(readdirSync(join(dir, 'interrupted')), []);
  });
});
