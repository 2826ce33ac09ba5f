// qubes.xml as restore reads it (the seed of the Qubes model is a trimmed Qubes 4.3 file), and
// the XML reader's refusals: the file comes from the archive, so it is untrusted.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { QubesMetadataError } from '../errors.js';
import { parseQubesXml } from './qubes-xml.js';
import { restoreOrder } from './restore-order.js';
import { parseXml } from './xml.js';

const SEED = readFileSync(fileURLToPath(new URL('../../../test/qubes-model/qubes.xml', import.meta.url)), 'utf8');

describe('qubes.xml', () => {
  it('gives class, properties (VM references by name), features, tags and volumes per domain', () => {
    const domains = parseQubesXml(SEED);
    assert.deepEqual(
      [...domains.keys()],
      [
        'dom0',
        'fedora-41-xfce',
        'debian-12-xfce',
        'sys-net',
        'sys-firewall',
        'work',
        'personal',
        'vault',
        'legacy',
        'default-dvm',
        'disp-print',
      ],
    );
    const work = domains.get('work')!;
    assert.equal(work.klass, 'AppVM');
    assert.equal(work.properties['template'], 'fedora-41-xfce');
    assert.equal(work.properties['netvm'], 'sys-firewall');
    assert.equal(work.features['menu-items'], 'firefox.desktop org.gnome.Terminal.desktop');
    assert.deepEqual(work.tags, ['created-by-dom0', 'project-x']);
    assert.equal(work.volumes['private']?.vid, '@VG@/vm-work-private');
    assert.equal(domains.get('vault')!.properties['netvm'], '');
    assert.equal(domains.get('legacy')!.klass, 'StandaloneVM');
  });

  it('restores templates before the VMs based on them, netvms before their clients, disposables last', () => {
    const domains = parseQubesXml(SEED);
    const order = restoreOrder(
      ['work', 'disp-print', 'sys-firewall', 'default-dvm', 'sys-net', 'personal', 'fedora-41-xfce', 'debian-12-xfce'].map(
        (n) => domains.get(n)!,
      ),
    ).map((d) => d.name);
    const before = (a: string, b: string) => assert.ok(order.indexOf(a) < order.indexOf(b), `${a} before ${b}: ${order.join(' ')}`);
    before('fedora-41-xfce', 'work');
    before('debian-12-xfce', 'personal');
    before('sys-net', 'sys-firewall');
    before('sys-firewall', 'work');
    before('default-dvm', 'personal');
    before('default-dvm', 'disp-print');
    assert.equal(order.at(-1), 'disp-print');
    assert.equal(order.length, 8);
  });

  it('refuses what it cannot read rather than guessing', () => {
    for (const bad of [
      '<qubes>',
      '<qubes></domains>',
      '<!DOCTYPE x><qubes/>',
      '<qubes>&bogus;</qubes>',
      'text',
      '<a/><b/>',
      '<a>&#x110000;</a>',
      '<a x="&#99999999999;"/>',
      '<a>&#xD800;</a>',
      `${'<a>'.repeat(300)}${'</a>'.repeat(300)}`,
    ]) {
      assert.throws(() => parseXml(bad), QubesMetadataError, bad);
    }
    assert.throws(() => parseXml(`<a>${' '.repeat(64 * 1024 * 1024)}</a>`), /larger than 67108864 characters/);
    assert.throws(() => parseQubesXml('<other/>'), /not <qubes>/);
    assert.throws(
      () =>
        parseQubesXml(
          '<qubes><domains><domain class="AppVM"><properties><property name="name">../x</property></properties></domain></domains></qubes>',
        ),
      /bad domain name/,
    );
    assert.equal(parseXml('<a x="&lt;&amp;&#65;&#x42;">t&gt;</a>').attributes['x'], '<&AB');
  });

  it("reads labels saved as their id through <labels>, and each domain's device assignments as Qubes' restore reads them", () => {
    const xml = `<qubes><labels><label id="label-1" color="0xcc0000">red</label><label id="label-8" color="0x0">black</label></labels>
      <domains><domain class="AppVM"><properties><property name="name">work</property><property name="label">label-8</property></properties>
        <devices class="pci"><device backend-domain="dom0" id="00_1f.6"><option name="no-strict-reset">True</option></device></devices>
        <devices class="usb"><device backend-domain="sys-usb" id="2-1" required="no"/><device backend-domain="sys-usb" id="3-1" mode="ask-to-attach"/></devices>
      </domain><domain class="AppVM"><properties><property name="name">other</property><property name="label">green</property></properties></domain></domains></qubes>`;
    const domains = parseQubesXml(xml);
    assert.equal(domains.get('work')!.properties['label'], 'black');
    assert.equal(domains.get('other')!.properties['label'], 'green');
    assert.deepEqual(domains.get('work')!.devices, {
      pci: [{ backend: 'dom0', port: '00_1f.6', mode: 'required', options: { 'no-strict-reset': 'True' } }],
      usb: [
        { backend: 'sys-usb', port: '2-1', mode: 'auto-attach', options: {} },
        { backend: 'sys-usb', port: '3-1', mode: 'ask-to-attach', options: {} },
      ],
    });
    assert.deepEqual(domains.get('other')!.devices, {});
    assert.throws(() => parseQubesXml(xml.replace('class="usb"', 'class="../x"')), /bad device class/);
    // Device fields go into Admin API arguments and payloads: what could break their quoting or
    // add a field is refused with the rest of the file.
    for (const [from, to] of [
      ['backend-domain="sys-usb"', 'backend-domain="sys-usb+x"'],
      ['id="2-1"', 'id="2-1 persistent=True"'],
      ['id="2-1"', 'id=""'],
      ['name="no-strict-reset"', 'name="a b"'],
      ['>True</option>', '>x\\</option>'],
      ['>True</option>', '>x persistent=False</option>'],
      ['>True</option>', ">x'y</option>"],
    ] as const)
      assert.throws(() => parseQubesXml(xml.replace(from, to)), /qubes.xml: bad device/, to);
  });
});
