// The Qubes Admin API over qubesd's Unix socket, as qubesadmin talks to it in dom0: one
// connection per call, the request `METHOD+ARG SOURCE name DEST\0PAYLOAD` then end-of-write, the
// answer `0\0` and the result, or `2\0EXCEPTION\0TRACEBACK\0MESSAGE\0`. One socket call per
// request instead of one `qvm-*` process each (a Python start with qubesadmin imported, hundreds
// of ms): see doc/cli.md, skiff-qubes. The socket path is SKIFF_QUBESD_SOCKET when set (tests:
// test/qubes-model), else /var/run/qubesd.sock.

import { connect } from 'node:net';
import { QubesAdminError } from '../errors.js';

export const QUBESD_SOCKET = '/var/run/qubesd.sock';

/**
 * How long one call may go without a byte from qubesd before it fails (qubesd stuck must be a
 * clear error, not a wait for ever). Idle time, not total: starting a qube or cloning a volume
 * can take minutes, and qubesd is silent until it answers.
 */
export const ADMIN_CALL_IDLE_MS = 10 * 60 * 1000;
/** More than any Admin API answer Skiff asks for (qubes.xml-sized lists): a larger one is refused. */
export const MAX_ADMIN_REPLY_BYTES = 64 * 1024 * 1024;

export class AdminClient {
  constructor(
    readonly socketPath: string,
    readonly idleMs = ADMIN_CALL_IDLE_MS,
  ) {}

  static fromEnv(env: NodeJS.ProcessEnv): AdminClient {
    return new AdminClient(env['SKIFF_QUBESD_SOCKET'] || QUBESD_SOCKET);
  }

  /** One call; resolves to the result text, throws QubesAdminError for a qubesd exception. */
  call(method: string, dest = 'dom0', arg = '', payload: string | Buffer = ''): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      const socket = connect(this.socketPath);
      socket.setTimeout(this.idleMs, () => {
        socket.destroy();
        reject(new QubesAdminError(`${method} ${dest}: no answer from qubesd within ${this.idleMs / 1000} s`));
      });
      socket.on('error', (error) => reject(new QubesAdminError(`cannot reach qubesd at ${this.socketPath}: ${error.message}`)));
      socket.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_ADMIN_REPLY_BYTES) {
          socket.destroy();
          reject(new QubesAdminError(`${method} ${dest}: qubesd's answer is larger than ${MAX_ADMIN_REPLY_BYTES} bytes`));
        } else chunks.push(chunk);
      });
      socket.on('end', () => {
        const reply = Buffer.concat(chunks);
        if (reply[0] === 0x30 && reply[1] === 0) resolve(reply.subarray(2).toString('utf8'));
        else if (reply[0] === 0x32 && reply[1] === 0) {
          const [kind = '', , message = ''] = reply.subarray(2).toString('utf8').split('\0');
          reject(new QubesAdminError(`${method} ${dest}${arg ? ` ${arg}` : ''}: ${kind}: ${message}`, kind));
        } else reject(new QubesAdminError(`${method} ${dest}: qubesd refused the call (no answer)`));
      });
      socket.on('connect', () => {
        socket.write(`${method}+${arg} dom0 name ${dest}\0`);
        socket.end(payload);
      });
    });
  }

  /** `key=value` lines or words (admin.pool.Info, admin.vm.volume.Info). */
  static keyValues(text: string): Record<string, string> {
    const values: Record<string, string> = {};
    for (const line of text.split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) values[line.slice(0, eq)] = line.slice(eq + 1);
    }
    return values;
  }

  static lines(text: string): string[] {
    return text.split('\n').filter((line) => line !== '');
  }
}
