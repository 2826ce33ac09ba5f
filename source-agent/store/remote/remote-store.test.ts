// The Store contract over the protocol: an in-process helper (streams in memory), a helper
// child process, and a helper child process started through the upload loader that ssh and
// qvm-run use. (Over a real sshd: test/system/remote-destinations.test.ts.)

import { inProcessStore } from '../../../test/helpers/in-process-store.js';
import { runFileSystemStoreSuite } from '../../../test/store-conformance.js';
import { connectHelper, localHelper } from '../../transport/connect.js';

const options = (root: string) => ({ url: `test:${root}`, root, create: false, timeoutMs: 30_000 });

runFileSystemStoreSuite('RemoteStore, in-process helper', (root) => inProcessStore(root));
runFileSystemStoreSuite('RemoteStore, helper child process', (root) => connectHelper(localHelper(), options(root)));
runFileSystemStoreSuite('RemoteStore, uploaded helper child process', (root) =>
  connectHelper(localHelper({ upload: true }), options(root)),
);
