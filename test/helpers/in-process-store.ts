// A RemoteStore whose helper runs in this process, joined to it by two in-memory streams: the
// whole protocol and the helper's operations, without a child process.

import { PassThrough } from 'node:stream';
import { HelperServer } from '../../dest-helper/server.js';
import { PROTOCOL_VERSION } from '../../protocol/messages.js';
import { type HelperChannel, HelperConnection } from '../../source-agent/store/remote/helper-connection.js';
import { RemoteStore } from '../../source-agent/store/remote/remote-store.js';

export async function inProcessStore(root: string): Promise<RemoteStore> {
  const toHelper = new PassThrough();
  const toAgent = new PassThrough();
  const server = new HelperServer(toAgent);
  toHelper.on('data', (chunk: Buffer) => server.receive(chunk));
  toHelper.on('end', () => void server.end());
  const channel: HelperChannel = {
    readable: toAgent,
    writable: toHelper,
    diagnostics: () => '',
    exited: server.finished.then(() => 'ended'),
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
