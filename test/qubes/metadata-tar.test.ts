// The wyng-qubes-metadata tar: what skiff-qubes writes, GNU tar lists and extracts byte for byte
// (wyng-util-qubes runs `tar -xzf`), and what `tar -czf` writes (wyng-util-qubes' backup), skiff-qubes
// reads. Member names that would leave the directory are dropped, damaged tars refused.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { QubesMetadataError } from '../../source-agent/errors.js';
import { collectQubesXml, readTarGz, writeTarGz } from '../../source-agent/qubes/metadata-tar.js';
import { scratchDir } from '../helpers/cli.js';
import { requireTool } from '../helpers/system.js';

const scratch = scratchDir('skiff-qubes-tar-');
after(scratch.cleanup);

function qubesDir(): string {
  const dir = join(scratch.dir, `var-${Math.random().toString(36).slice(2)}`);
  mkdirSync(join(dir, 'appvms/work'), { recursive: true });
  mkdirSync(join(dir, 'vm-templates/fedora-41-xfce'), { recursive: true });
  writeFileSync(join(dir, 'qubes.xml'), '<qubes version="3.0"><domains/></qubes>\n');
  writeFileSync(join(dir, 'appvms/work/firewall.xml'), '<firewall version="2"/>\n');
  writeFileSync(join(dir, 'appvms/work/private.img'), 'not xml');
  writeFileSync(join(dir, `vm-templates/fedora-41-xfce/${'x'.repeat(120)}.xml`), 'long name\n');
  return dir;
}

describe('wyng-qubes-metadata tar', () => {
  it('holds every *.xml as ./path, and GNU tar extracts the same bytes', (t) => {
    if (!requireTool(t, 'tar')) return;
    const dir = qubesDir();
    const members = collectQubesXml(dir);
    assert.deepEqual(
      members.map((m) => m.name),
      ['./appvms/work/firewall.xml', './qubes.xml', `./vm-templates/fedora-41-xfce/${'x'.repeat(120)}.xml`],
    );
    const tarPath = join(scratch.dir, 'ours.tgz');
    writeFileSync(tarPath, writeTarGz(members));
    assert.deepEqual(
      execFileSync('tar', ['-tzf', tarPath], { encoding: 'utf8' }).trim().split('\n'),
      members.map((m) => m.name),
    );
    const out = join(scratch.dir, 'extracted');
    mkdirSync(out);
    execFileSync('tar', ['-xzf', tarPath], { cwd: out });
    for (const m of members) assert.ok(readFileSync(join(out, m.name)).equals(m.data), m.name);
  });

  it('reads what tar -czf writes from find . -name "*.xml"', (t) => {
    if (!requireTool(t, 'tar')) return;
    const dir = qubesDir();
    const tarPath = join(scratch.dir, 'gnu.tgz');
    execFileSync('sh', ['-c', `find . -name '*.xml' | tar -czf ${tarPath} --verbatim-files-from -T -`], { cwd: dir });
    const files = readTarGz(readFileSync(tarPath));
    assert.equal(files.get('qubes.xml')?.toString(), '<qubes version="3.0"><domains/></qubes>\n');
    assert.equal(files.get('appvms/work/firewall.xml')?.toString(), '<firewall version="2"/>\n');
    // A name over tar's 100 bytes (GNU's long-name member) is read by its full name.
    assert.equal(files.get(`vm-templates/fedora-41-xfce/${'x'.repeat(120)}.xml`)?.toString(), 'long name\n');
    assert.equal(files.size, 3);
  });

  it('drops members that would leave the directory and refuses what is not a tar.gz', () => {
    const evil = writeTarGz([
      { name: '../etc/passwd', data: Buffer.from('x'), mode: 0o644, mtime: 0 },
      { name: '/abs.xml', data: Buffer.from('x'), mode: 0o644, mtime: 0 },
      { name: './qubes.xml', data: Buffer.from('ok'), mode: 0o644, mtime: 0 },
      { name: './appvms/a\u001b[2Jb/firewall.xml', data: Buffer.from('x'), mode: 0o644, mtime: 0 },
      { name: `./${'d/'.repeat(3000)}x.xml`, data: Buffer.from('x'), mode: 0o644, mtime: 0 },
    ]);
    assert.deepEqual([...readTarGz(evil).keys()], ['qubes.xml']);
    assert.throws(() => readTarGz(Buffer.from('plain')), QubesMetadataError);
    const header = Buffer.alloc(512);
    header.write('qubes.xml', 0);
    header.write('77777777777\0', 124);
    assert.throws(() => readTarGz(gzipSync(header)), /damaged/);
    const many = writeTarGz(Array.from({ length: 100_001 }, () => ({ name: './x.xml', data: Buffer.alloc(0), mode: 0o644, mtime: 0 })));
    assert.throws(() => readTarGz(many), /more than 100000 members/);
  });
});
