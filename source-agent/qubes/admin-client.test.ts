// A qubesd that accepts a call and never answers must give a QubesAdminError, not a wait for ever.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { QubesAdminError } from '../errors.js';
import { AdminClient } from './admin-client.js';

describe('AdminClient', () => {
  it('fails a call that qubesd never answers', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-admin-'));
    const sockets: Socket[] = [];
    const server = createServer((socket) => sockets.push(socket));
    t.after(() => {
      for (const socket of sockets) socket.destroy();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const path = join(dir, 'qubesd.sock');
    await new Promise<void>((resolve) => server.listen(path, resolve));
    await assert.rejects(new AdminClient(path, 200).call('admin.vm.List'), (error: unknown) => {
      assert.ok(error instanceof QubesAdminError);
      assert.match(error.message, /admin\.vm\.List dom0: no answer from qubesd within 0\.2 s/);
      return true;
    });
  });
});
