// Remote destinations end to end, through the built CLI:
// * ssh:// against a real OpenSSH server on 127.0.0.1 that this file starts and stops, plus the
//   Store conformance suite over that ssh connection;
// * qubes:// and qubes-ssh:// through a STAND-IN qvm-run on PATH (there is no Qubes here): it
//   records the arguments Skiff passes, then runs the command locally (for qubes-ssh, that is
//   the real ssh to the real sshd above). The tests check those arguments.

import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { connectHelper, sshStart } from '../../source-agent/transport/connect.js';
import { helperBundlePath } from '../../source-agent/transport/helper-upload.js';
import { runSkiff, scratchDir } from '../helpers/cli.js';
import { runSkiffInProcess } from '../helpers/cli-in-process.js';
import { installQvmRunStandIn } from '../helpers/qvm-run.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';
import { requireSystem, SYSTEM_TESTS_REQUIRED } from '../helpers/system.js';
import { keystream, makeVolume, writeAt } from '../helpers/volumes.js';
import { runFileSystemStoreSuite } from '../store-conformance.js';

const SSH_TOOLS = ['/usr/sbin/sshd', 'ssh', 'ssh-keygen'];
const scratch = scratchDir('skiff-remote-e2e-');
let sshd: Sshd | null = null;
let sshdStarting: Promise<Sshd> | null = null;
const server = () => {
  sshdStarting ??= startSshd().then((s) => {
    sshd = s;
    return s;
  });
  return sshdStarting;
};
after(async () => {
  await sshd?.stop();
  scratch.cleanup();
});

const standIn = installQvmRunStandIn(scratch.dir);
const standInDir = standIn.bin;
const qvmLog = join(scratch.dir, 'qvm-run.log');
const qvmCalls = () => standIn.calls(qvmLog);

// Every run here has a HOME without .ssh, as on a machine that never used ssh before.
const freshHome = join(scratch.dir, 'home');
mkdirSync(freshHome);

let counter = 0;
function remoteArchive(dest: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const meta = join(scratch.dir, `meta${counter++}`);
  const skiff = async (args: string[], code = 0) => {
    // In this process (ssh, qvm-run and the helper are real processes either way); a skiff process
    // of its own over ssh, with its exit codes, is the missing/unreachable test's.
    const r = await runSkiffInProcess(
      [...args, `--dest=${dest}`, `--meta-dir=${meta}`, '--passcmd=echo remote-test-passphrase', ...extra],
      {
        env: { ...process.env, TZ: 'UTC', HOME: freshHome, PATH: `${standInDir}:${process.env['PATH']}`, QVM_RUN_LOG: qvmLog, ...env },
      },
    );
    assert.equal(r.code, code, `skiff ${args.join(' ')} (${dest}): ${r.stdout}\n${r.stderr}`);
    return r;
  };
  return { skiff };
}

/** arch-init, full send, change, incremental send, list, verify, arch-check, receive both sessions. */
async function fullCycle(archive: ReturnType<typeof remoteArchive>, dir: string, encrypt: string): Promise<void> {
  const source = join(scratch.dir, `vol${counter++}.img`);
  const first = makeVolume('remote', 65536, 24, 5);
  writeFileSync(source, first);
  await archive.skiff(['arch-init', `--encrypt=${encrypt}`, '--chunk-factor=1']);
  await archive.skiff(['send', `--import-other-from=vol.img:|:${source}`]);
  writeAt(source, 5 * 65536 + 100, keystream('remote-change', 3000));
  await archive.skiff(['send', `--import-other-from=vol.img:|:${source}`]);
  const second = readFileSync(source);
  const listed = await archive.skiff(['list', 'vol.img']);
  const sessions = [...listed.stdout.matchAll(/(\d{8}-\d{6})/g)].map((m) => m[1] as string);
  assert.equal(new Set(sessions).size, 2, listed.stdout);
  await archive.skiff(['verify', 'vol.img']);
  await archive.skiff(['arch-check']);
  const [older, newer] = [...new Set(sessions)].sort();
  for (const [session, expected] of [
    [older, first],
    [newer, second],
  ] as const) {
    const target = join(scratch.dir, `restored${counter++}.img`);
    await archive.skiff(['receive', 'vol.img', `--session=${session}`, `--save-to=${target}`]);
    assert.ok(readFileSync(target).equals(expected), `session ${session} restores byte-identical`);
  }
  // The same archive read directly (file:) lists the same sessions: the helper wrote it as we would.
  const direct = await runSkiff(['list', 'vol.img', `--dest=file:${dir}`, '--passcmd=echo remote-test-passphrase']);
  assert.equal(direct.code, 0, direct.stderr);
  assert.deepEqual([...direct.stdout.matchAll(/(\d{8}-\d{6})/g)].map((m) => m[1]).sort(), [...sessions].sort());
  const vol = readdirSync(dir).find((n) => n.startsWith('Vol_')) as string;
  const newest = readdirSync(join(dir, vol))
    .filter((n) => n.startsWith('S_'))
    .sort()
    .at(-1) as string;
  // The change touched chunk 5 only (64 KiB chunks): the incremental session stored one chunk file.
  assert.deepEqual(readdirSync(join(dir, vol, newest, '000000000')), ['x0000000000050000']);
}

const ready = (t: TestContext) => requireSystem(t, SSH_TOOLS);

describe('ssh:// destinations (real sshd on 127.0.0.1)', () => {
  it('arch-init, full and incremental send, list, verify, arch-check and receive', async (t) => {
    if (!ready(t)) return;
    const s = await server();
    const dir = join(scratch.dir, 'ssh-archive');
    const archive = remoteArchive(
      `ssh://${s.authority}${dir}`,
      s.sshOptions.map((o) => `--opt-ssh=${o}`),
    );
    await fullCycle(archive, dir, 'xchacha20-dgr');
  });

  it('prune, rename, add, delete and arch-deduplicate over ssh', async (t) => {
    if (!ready(t)) return;
    const s = await server();
    const dir = join(scratch.dir, 'ssh-maintenance');
    const archive = remoteArchive(
      `ssh://${s.authority}${dir}`,
      s.sshOptions.map((o) => `--opt-ssh=${o}`),
    );
    const source = join(scratch.dir, `maint${counter++}.img`);
    writeFileSync(source, makeVolume('maintenance', 65536, 12, 5));
    await archive.skiff(['arch-init', '--encrypt=off', '--chunk-factor=1']);
    const images: Buffer[] = [];
    for (let n = 0; n < 3; n++) {
      if (n > 0) writeAt(source, n * 3 * 65536, keystream(`maint-${n}`, 70000));
      await archive.skiff(['send', `--import-other-from=vol.img:|:${source}`, `--import-other-from=copy.img:|:${source}`]);
      images.push(readFileSync(source));
    }
    const sessionsOf = async (volume: string) =>
      [...new Set([...(await archive.skiff(['list', volume])).stdout.matchAll(/(\d{8}-\d{6})/g)].map((m) => m[1] as string))].sort();
    const sessions = await sessionsOf('vol.img');
    assert.equal(sessions.length, 3);
    await archive.skiff(['prune', 'vol.img', `--session=${sessions[1]}`, '-u']);
    assert.deepEqual(await sessionsOf('vol.img'), [sessions[0], sessions[2]]);
    await archive.skiff(['rename', 'copy.img', 'renamed.img']);
    await archive.skiff(['add', 'empty.img']);
    await archive.skiff(['arch-deduplicate']);
    await archive.skiff(['delete', 'empty.img', '-u']);
    await archive.skiff(['arch-check']);
    for (const [volume, session, image] of [
      ['vol.img', sessions[0], images[0]],
      ['vol.img', sessions[2], images[2]],
      ['renamed.img', sessions[1], images[1]],
    ] as const) {
      const target = join(scratch.dir, `maint-restored${counter++}.img`);
      await archive.skiff(['receive', volume, `--session=${session}`, `--save-to=${target}`]);
      assert.ok(readFileSync(target).equals(image as Buffer), `${volume} ${session} restores byte-identical`);
    }
    const listed = await archive.skiff(['list']);
    assert.doesNotMatch(listed.stdout, /empty\.img|copy\.img/);
  });

  it('on a fresh machine: the built-in ssh options, no ~/.ssh', async (t) => {
    if (!ready(t)) return;
    const s = await server();
    const dir = join(scratch.dir, 'ssh-fresh-archive');
    const archive = remoteArchive(`ssh://${s.authority}${dir}`, [], { PATH: `${s.clientBin}:${standInDir}:${process.env['PATH']}` });
    await fullCycle(archive, dir, 'xchacha20-dgr');
    assert.deepEqual(readdirSync(freshHome), [], 'nothing written to HOME');
  });

  it('a missing archive directory exits 6; an unreachable host exits 5 with the reason', async (t) => {
    if (!ready(t)) return;
    const s = await server();
    const opts = s.sshOptions.map((o) => `--opt-ssh=${o}`);
    const missing = await runSkiff(['list', `--dest=ssh://${s.authority}${join(scratch.dir, 'nothing-here')}`, ...opts]);
    assert.equal(missing.code, 6, missing.stderr);
    assert.match(missing.stderr, /Path '.*nothing-here' not found\./);
    const closed = await runSkiff(['list', `--dest=ssh://root@127.0.0.1:1${scratch.dir}`, ...opts, '--opt-ssh=-oConnectTimeout=5']);
    assert.equal(closed.code, 5, closed.stderr);
    assert.match(closed.stderr, /Destination not ready to receive commands: .*(refused|exited)/);
    assert.equal(closed.stderr.trim().split('\n').length, 1, closed.stderr);
  });
});

// The Store contract over a real ssh connection. Registered only where it can run (root, sshd);
// under CI a missing sshd fails the ssh tests above instead.
if (process.getuid?.() === 0 || SYSTEM_TESTS_REQUIRED) {
  runFileSystemStoreSuite('RemoteStore over ssh to 127.0.0.1', async (root) => {
    const s = await server();
    return connectHelper(sshStart(s.authority, { sshOptions: s.sshOptions, qubesOptions: [] }), {
      url: `ssh://${s.authority}${root}`,
      root,
      create: false,
      timeoutMs: 30_000,
    });
  });
}

describe('qubes:// and qubes-ssh:// (stand-in qvm-run on PATH; no Qubes here)', () => {
  it('qubes:// without the qrexec service falls back to the uploaded helper', async () => {
    writeFileSync(qvmLog, '');
    const dir = join(scratch.dir, 'qubes-archive');
    await fullCycle(remoteArchive(`qubes://backupvm${dir}`), dir, 'xchacha20-msr');
    const calls = qvmCalls();
    assert.ok(calls.length >= 2);
    // Each run first asks for the installed service, then uploads the helper.
    assert.deepEqual(calls[0], [
      '--no-color-stderr',
      '--no-color-output',
      '--nogui',
      '--no-filter-escape-chars',
      '--pass-io',
      '--service',
      'backupvm',
      'skiff.DestHelper',
    ]);
    const upload = calls[1] as string[];
    assert.deepEqual(upload.slice(0, 6), [
      '--no-color-stderr',
      '--no-color-output',
      '--nogui',
      '--no-filter-escape-chars',
      '--pass-io',
      'backupvm',
    ]);
    assert.match(upload[6] as string, /^exec node -e '.*' \d+$/);
  });

  it('qubes:// uses the installed qrexec service, with --opt-qubes replacing the default options', async () => {
    writeFileSync(qvmLog, '');
    const dir = join(scratch.dir, 'qubes-service-archive');
    const archive = remoteArchive(`qubes://destvm${dir}`, ['--opt-qubes=--no-autostart'], { QVM_SERVICE_HELPER: helperBundlePath() });
    await archive.skiff(['arch-init', '--encrypt=off']);
    await archive.skiff(['list']);
    const calls = qvmCalls();
    assert.equal(calls.length, 2, JSON.stringify(calls));
    for (const call of calls) assert.deepEqual(call, ['--no-autostart', '--pass-io', '--service', 'destvm', 'skiff.DestHelper']);
    assert.ok(readdirSync(dir).includes('archive.ini'));
  });

  it('qubes-ssh:// runs ssh inside the qube to the host', async (t) => {
    if (!ready(t)) return;
    const s = await server();
    writeFileSync(qvmLog, '');
    const dir = join(scratch.dir, 'qubes-ssh-archive');
    const archive = remoteArchive(
      `qubes-ssh://netvm:${s.authority}${dir}`,
      s.sshOptions.map((o) => `--opt-ssh=${o}`),
    );
    await fullCycle(archive, dir, 'xchacha20-ct');
    const call = qvmCalls()[0] as string[];
    assert.deepEqual(call.slice(0, 6), [
      '--no-color-stderr',
      '--no-color-output',
      '--nogui',
      '--no-filter-escape-chars',
      '--pass-io',
      'netvm',
    ]);
    assert.match(call[6] as string, new RegExp(`^ssh -i \\S+client_key .*ssh://root@127\\.0\\.0\\.1:${s.port} 'exec node -e`));
  });

  it('qubes-ssh:// with the built-in ssh options in a qube that never used ssh', async (t) => {
    if (!ready(t)) return;
    const s = await server();
    const dir = join(scratch.dir, 'qubes-ssh-fresh-archive');
    const archive = remoteArchive(`qubes-ssh://netvm:${s.authority}${dir}`, [], {
      PATH: `${s.clientBin}:${standInDir}:${process.env['PATH']}`,
    });
    await fullCycle(archive, dir, 'xchacha20-dgr');
    assert.deepEqual(readdirSync(freshHome), [], 'nothing written to HOME');
  });
});
