import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SessionRecord, Volume } from '../../archive/archive.js';
import type { SessionName, VolumeId } from '../../archive/names.js';
import { InputError } from '../../errors.js';
import { chooseSession, parseSessionSpec } from './session-select.js';

function volume(sessions: [string, string[]][]): Volume {
  return {
    vid: 'Vol_000001' as VolumeId,
    name: 'v.img',
    desc: '',
    sessions: sessions.map(
      ([name, tags], i): SessionRecord => ({
        name: `S_${name}` as SessionName,
        info: {
          localtime: '0',
          previous: null,
          permissions: '',
          manifestHash: null,
          volsize: 0,
          sequence: i,
          mfcs: 0,
          tags: new Map(tags.map((t) => [t, ''])),
        },
      }),
    ),
  };
}

const v = volume([
  ['20261101-000000', ['weekly']],
  ['20261108-000000', []],
  ['20261115-000000', ['weekly']],
]);

describe('session selection', () => {
  it('parses specs and refuses malformed ones', () => {
    assert.deepEqual(parseSessionSpec(undefined), { kind: 'newest' });
    assert.deepEqual(parseSessionSpec('^Weekly'), { kind: 'tag', tag: 'weekly' });
    assert.deepEqual(parseSessionSpec('20261108-000000'), { kind: 'time', name: 'S_20261108-000000' });
    assert.deepEqual(parseSessionSpec('S_20261108-000000'), { kind: 'time', name: 'S_20261108-000000' });
    assert.deepEqual(parseSessionSpec('newest', { allowNewest: true }), { kind: 'newest' });
    for (const bad of ['newest', '^', '^a b', '2026-11-08', '20261108000000', '20261108-250000']) {
      assert.throws(() => parseSessionSpec(bad), InputError, bad);
    }
  });
  it('picks the newest, a tagged one, an exact one', () => {
    const pick = (spec: string | undefined, strict = true) => {
      const choice = chooseSession(v, parseSessionSpec(spec), strict);
      return typeof choice === 'string' ? choice : choice.session.name;
    };
    assert.equal(pick(undefined), 'S_20261115-000000');
    assert.equal(pick('^weekly'), 'S_20261115-000000');
    assert.equal(pick('20261108-000000'), 'S_20261108-000000');
    assert.equal(pick('20261110-000000'), "No volume 'v.img' in session S_20261110-000000.");
    assert.equal(pick('20261110-000000', false), 'S_20261108-000000');
    assert.equal(pick('20261001-000000', false), "No volume 'v.img' in session S_20261001-000000.");
    assert.equal(pick('^monthly'), "No volume 'v.img' in session ^monthly.");
    assert.equal(chooseSession(volume([]), { kind: 'newest' }, true), "Volume 'v.img' has no sessions.");
  });
});
