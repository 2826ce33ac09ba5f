// The format's names are Wyng's: a Wyng that opens, resumes or cleans a Skiff archive looks for
// exactly these paths, so each one is pinned here.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isChunkDirName, isLinkLeftover, isPutLeftover, isSessionLeftover, isSessionTmpName, layout } from './layout.js';
import { isVolumeId, randomVolumeIdText, type SessionName, type VolumeId } from './names.js';

const vid = 'Vol_7b1cc7' as VolumeId;
const s = 'S_20261128-153704' as SessionName;

describe('the archive layout', () => {
  it('names the root, its neighbours and the probe as Wyng does', () => {
    assert.deepEqual(
      [
        layout.archiveIni,
        layout.rootTmp,
        layout.rootBak,
        layout.archiveSalt,
        layout.saltBackup,
        layout.hardLinkProbe,
        layout.hardLinkProbeLink,
      ],
      ['archive.ini', 'archive.ini.tmp', 'archive.ini.bak', 'archive.salt', 'salt.bak', 'archive.dat', '.hardlink'],
    );
  });

  it('names a volume’s files and their temporaries', () => {
    assert.deepEqual(
      [
        layout.volumeDir(vid),
        layout.volinfo(vid),
        layout.volinfoTmp(vid),
        layout.volinfoBak(vid),
        layout.sessionsFile(vid),
        layout.sessionsTmp(vid),
      ],
      [
        'Vol_7b1cc7',
        'Vol_7b1cc7/volinfo',
        'Vol_7b1cc7/volinfo.tmp',
        'Vol_7b1cc7/volinfo.bak',
        'Vol_7b1cc7/sessions',
        'Vol_7b1cc7/sessions.tmp',
      ],
    );
    assert.equal(layout.volumeEntry(vid, 'merge'), 'Vol_7b1cc7/merge');
  });

  it('names a session, the session a send writes, and their chunk files', () => {
    assert.deepEqual(
      [
        layout.sessionDir(vid, s),
        layout.sessionInfo(vid, s),
        layout.manifest(vid, s),
        layout.sessionInfoTmp(vid, s),
        layout.manifestTmp(vid, s),
      ],
      [
        'Vol_7b1cc7/S_20261128-153704',
        'Vol_7b1cc7/S_20261128-153704/info',
        'Vol_7b1cc7/S_20261128-153704/manifest.z',
        'Vol_7b1cc7/S_20261128-153704/info.tmp',
        'Vol_7b1cc7/S_20261128-153704/manifest.z.tmp',
      ],
    );
    assert.deepEqual(
      [layout.sessionTmpDir(vid), layout.sessionTmpInfo(vid), layout.sessionTmpManifest(vid)],
      ['Vol_7b1cc7/S-tmp', 'Vol_7b1cc7/S-tmp/info', 'Vol_7b1cc7/S-tmp/manifest.z'],
    );
    assert.equal(layout.chunk(vid, s, 2 ** 40), 'Vol_7b1cc7/S_20261128-153704/000001000/x0000010000000000');
    assert.equal(layout.chunkUnder(layout.sessionTmpDir(vid), 0x30000), 'Vol_7b1cc7/S-tmp/000000000/x0000000000030000');
    assert.equal(layout.chunkDirUnder(layout.sessionTmpDir(vid), 2 ** 40), 'Vol_7b1cc7/S-tmp/000001000');
  });

  it('names a merge’s directories, markers and list as Wyng’s merge does (spec §15.3)', () => {
    assert.deepEqual(
      [
        layout.mergeInitDir(vid),
        layout.mergeInitEntry(vid, s),
        layout.mergeDir(vid),
        layout.mergeSession(vid, s),
        layout.mergeSessionInfo(vid, s),
        layout.mergeSessionManifest(vid, s),
        layout.mergeSessionInfoTmp(vid, s),
        layout.mergeSessionManifestTmp(vid, s),
        layout.mergeMovesDone(vid),
        layout.mergeFinalizing(vid),
        layout.mergeList(vid),
      ],
      [
        'Vol_7b1cc7/merge-init',
        'Vol_7b1cc7/merge-init/S_20261128-153704',
        'Vol_7b1cc7/merge',
        'Vol_7b1cc7/merge/S_20261128-153704',
        'Vol_7b1cc7/merge/S_20261128-153704/info',
        'Vol_7b1cc7/merge/S_20261128-153704/manifest.z',
        'Vol_7b1cc7/merge/S_20261128-153704/info.tmp',
        'Vol_7b1cc7/merge/S_20261128-153704/manifest.z.tmp',
        'Vol_7b1cc7/merge/CHECK-mv-rm',
        'Vol_7b1cc7/merge/CHECK-start-finalize',
        'Vol_7b1cc7/merge.lst.gz',
      ],
    );
  });

  it('tells leftovers from archive objects', () => {
    assert.ok(isSessionTmpName('S-tmp') && isSessionTmpName('S_20261128-153704-tmp'));
    assert.ok(!isSessionTmpName('S_20261128-153704') && !isSessionTmpName('volinfo.tmp'));
    assert.ok(isSessionLeftover('info.tmp') && isSessionLeftover('manifest.z.tmp'));
    assert.ok(!isSessionLeftover('info') && !isSessionLeftover('manifest.z'));
    assert.ok(isPutLeftover('.skiff-put-0123456789ab') && !isPutLeftover('archive.ini'));
    assert.ok(isChunkDirName('000000000') && !isChunkDirName('00000000') && !isChunkDirName('00000000g'));
    assert.ok(isLinkLeftover('x0000000000030000-lnk'));
    assert.ok(!isLinkLeftover('x0000000000030000') && !isLinkLeftover('x000000000003000-lnk'));
  });

  it('makes vids that are vids', () => {
    for (let i = 0; i < 20; i++) {
      const made = randomVolumeIdText();
      assert.match(made, /^Vol_[0-9a-f]{6}$/);
      assert.ok(isVolumeId(made));
    }
  });
});
