// The Store contract over the protocol: an in-process helper (streams in memory), a helper
// child process, and a helper child process started through the upload loader that ssh and
// qvm-run use. (Over a real sshd: test/system/remote-destinations.test.ts.)

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after } from 'node:test';
import { HelperServer } from '../../../dest-helper/server.js';
import { PROTOCOL_VERSION } from '../../../protocol/messages.js';
import { runStoreSuite } from '../../../test/store-conformance.js';
import { connectHelper, localHelper } from '../../transport/connect.js';
import { type HelperChannel, HelperConnection } from './helper-connection.js';
import { RemoteStore } from './remote-store.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-remote-'));
  dirs.push(dir);
  return dir;
};

/** Agent and helper in this process, joined by two in-memory streams. */
export async function inProcessStore(root: string): Promise<RemoteStore> {
  const toHelper = new PassThrough();
  const toAgent = new PassThrough();
  const server = new HelperServer(toAgent);
  toHelper.on('data', (chunk: Buffer) => server.receive(chunk));
  toHelper.on('end', () => void server.end());
  const finished = server.finished.then(() => 'ended');
  const channel: HelperChannel = {
    readable: toAgent,
    writable: toHelper,
    diagnostics: () => '',
    exited: finished,
    close: async () => {
      toHelper.end();
      await server.finished;
      toAgent.end();
    },
    kill: () => {
      toHelper.destroy();
      toAgent.destroy();
    },
  };
  const connection = new HelperConnection(channel, { timeoutMs: 30_000 });
  await connection.request('hello', { version: PROTOCOL_VERSION, root, create: false });
  return new RemoteStore(`in-process:${root}`, connection);
}

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
