// The built-in ssh options prefer AES-GCM (bench/ssh-cipher.ts: on CPUs with AES instructions it
// costs ssh about 40% less CPU than chacha20-poly1305, OpenSSH's first choice, for chunks that are
// already encrypted) while offering OpenSSH's whole default set; --opt-ssh replaces the list.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultSshOptions, sshArgv } from './helper-command.js';

const OPENSSH_DEFAULT_SET = [
  'chacha20-poly1305@openssh.com',
  'aes128-ctr',
  'aes192-ctr',
  'aes256-ctr',
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
];

function ciphersOf(argv: readonly string[]): string[] | null {
  const at = argv.findIndex((word, i) => argv[i - 1] === '-o' && word.startsWith('Ciphers='));
  return at < 0 ? null : (argv[at] as string).slice('Ciphers='.length).split(',');
}

describe('built-in ssh options', () => {
  it('prefer AES-GCM and offer the same ciphers as OpenSSH by default', () => {
    const ciphers = ciphersOf(defaultSshOptions('/run/skiff'));
    assert.ok(ciphers, 'no Ciphers option');
    assert.deepEqual(ciphers.slice(0, 2), ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com']);
    assert.deepEqual([...ciphers].sort(), [...OPENSSH_DEFAULT_SET].sort());
  });

  it('are replaced whole by --opt-ssh', () => {
    const argv = sshArgv('u@h', 100, { sshOptions: ['-c', 'chacha20-poly1305@openssh.com'], qubesOptions: [] });
    assert.equal(ciphersOf(argv), null);
    assert.deepEqual(argv.slice(0, 3), ['ssh', '-c', 'chacha20-poly1305@openssh.com']);
  });
});
