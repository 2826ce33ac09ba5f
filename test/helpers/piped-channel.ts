// A HelperChannel over two in-memory pipes, for unit tests of the agent's end of the protocol:
// the test writes the "helper's" bytes into `readable` and sees what the agent sent on
// `writable`. No process, no helper: what a hostile or scripted helper says is up to the test.

import { PassThrough } from 'node:stream';
import type { HelperChannel } from '../../source-agent/store/remote/helper-connection.js';

export function pipedChannel(): { channel: HelperChannel; readable: PassThrough; writable: PassThrough } {
  const readable = new PassThrough();
  const writable = new PassThrough();
  let exit: (status: string) => void = () => {};
  const exited = new Promise<string>((resolve) => {
    exit = resolve;
  });
  const channel: HelperChannel = {
    readable,
    writable,
    diagnostics: () => '',
    close: async () => exit('closed'),
    kill: () => exit('killed'),
    exited,
  };
  return { channel, readable, writable };
}
