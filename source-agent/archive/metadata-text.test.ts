import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatSessionInfo, parseSessionInfo, SessionInfoError } from './session-info.js';
import { formatVolInfo, parseVolInfo, VolInfoError } from './volinfo.js';

const VOLINFO =
  'name = vol1.img\ndesc = \nS_20261128-153704 = 3KdjUdH-sPltTKlUnBpECGwozixKiAe_VsFu7INp4xo=\nS_20261128-153711 = nUpMMQLqeEOg4MKohO-ux24NvpvfDfUSk79WcEdGDVs=\n';
const INFO =
  'localtime = 1795880252068387895\nprevious = None\npermissions = 420:root:root\nmanifesthash = igCDJjMKT4-mMHAlPpayNBtqcP7RfVxLI3CD3QjGhdo=\nvolsize = 1100000\nsequence = 0\nmfcs = 1434940466\ntag = base first full backup\n';

describe('volinfo', () => {
  it('round-trips Wyng text, including the "desc = " trailing space', () => {
    const v = parseVolInfo(VOLINFO);
    assert.equal(v.name, 'vol1.img');
    assert.equal(v.desc, '');
    assert.deepEqual([...v.sessions.keys()], ['S_20261128-153704', 'S_20261128-153711']);
    assert.equal(formatVolInfo(v), VOLINFO);
  });
  it('keeps names with sub-directories and ignores unknown keys', () => {
    assert.equal(parseVolInfo('name = sub/dir/vol3.img\ndesc = x\nfuture = 1\n').name, 'sub/dir/vol3.img');
  });
  it('refuses bad names, sessions and hashes', () => {
    for (const text of [
      'desc = \n',
      'name = ../escape\n',
      'name = /abs\n',
      'name = a/./b\n',
      'name = tab\there\n',
      'name = v\nS_2026-bad = 3KdjUdH-sPltTKlUnBpECGwozixKiAe_VsFu7INp4xo=\n',
      'name = v\nS_20261128-153704 = nothash\n',
      'name = v\nS_20261128-153704 = 3KdjUdH-sPltTKlUnBpECGwozixKiAe_VsFu7INp4xo=\nS_20261128-153704 = 3KdjUdH-sPltTKlUnBpECGwozixKiAe_VsFu7INp4xo=\n',
      'name = v\nno equals sign\n',
    ]) {
      assert.throws(() => parseVolInfo(text), VolInfoError, text);
    }
  });
});

describe('session info', () => {
  it('round-trips Wyng text in Wyng field order', () => {
    const info = parseSessionInfo(INFO);
    assert.equal(info.volsize, 1_100_000);
    assert.equal(info.previous, null);
    assert.equal(info.mfcs, 1434940466);
    assert.deepEqual([...info.tags], [['base', 'first full backup']]);
    assert.equal(formatSessionInfo(info), INFO);
  });
  it('reads a tag without description ("tag = t1 ") and writes it back the same', () => {
    const info = parseSessionInfo(INFO.replace('tag = base first full backup', 'tag = T1 '));
    assert.deepEqual([...info.tags], [['t1', '']]);
    assert.match(formatSessionInfo(info), /\ntag = t1 \n$/);
  });
  it('reads manifesthash 0 as no manifest', () => {
    assert.equal(parseSessionInfo(INFO.replace(/manifesthash = .*/, 'manifesthash = 0')).manifestHash, null);
  });
  it('refuses bad fields', () => {
    for (const [from, to] of [
      ['volsize = 1100000', 'volsize = -1'],
      ['volsize = 1100000', 'volsize = 99999999999999999999'],
      ['sequence = 0', 'sequence = x'],
      ['previous = None', 'previous = S_bad'],
      ['permissions = 420:root:root', 'permissions = rw'],
      ['mfcs = 1434940466', 'mfcs = 4294967296'],
      ['localtime = 1795880252068387895', 'localtime = yesterday'],
      ['manifesthash = igCDJjMKT4-mMHAlPpayNBtqcP7RfVxLI3CD3QjGhdo=', 'manifesthash = 1'],
      ['sequence = 0\n', ''],
    ]) {
      assert.throws(() => parseSessionInfo(INFO.replace(from as string, to as string)), SessionInfoError, `${from} -> ${to}`);
    }
  });
  it('refuses volume sizes JS numbers cannot address exactly, with a clear reason', () => {
    assert.throws(
      () => parseSessionInfo(INFO.replace('volsize = 1100000', 'volsize = 18446744073709551615')),
      /larger than Skiff supports/,
    );
  });
});
