// The Store contract over the protocol: an in-process helper (streams in memory), a helper
// child process, and a helper child process started through the upload loader that ssh and
// qvm-run use. (Over a real sshd: test/system/remote-destinations.test.ts.)

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { inProcessStore } from '../../../test/helpers/in-process-store.js';
import { runStoreSuite } from '../../../test/store-conformance.js';
import { connectHelper, localHelper } from '../../transport/connect.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-remote-'));
  dirs.push(dir);
  return dir;
};

const options = (root: string) => ({ url: `test:${root}`, root, create: false, timeoutMs: 30_000 });

runStoreSuite('RemoteStore, in-process helper', () => inProcessStore(tempDir()));
runStoreSuite('RemoteStore, helper child process', () => {
  const root = tempDir();
  return connectHelper(localHelper(), options(root));
});
runStoreSuite('RemoteStore, uploaded helper child process', () => {
  const root = tempDir();
  return connectHelper(localHelper({ upload: true }), options(root));
});
