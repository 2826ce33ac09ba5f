import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseThinDelta, ThinDeltaError, ThinDeltaParser } from './thin-delta-xml.js';

// Real output of thin_delta 0.9.0 (compact and --verbose) for two thin devices that share blocks
// 0-1, differ at 5, and where only the second maps block 9.
const COMPACT = `<superblock uuid="" time="0" transaction="1" data_block_size="128" nr_data_blocks="1000">
  <diff left="1" right="2">
    <same begin="0" length="2"/>
    <different begin="5" length="1"/>
    <right_only begin="9" length="1"/>
  </diff>
</superblock>
`;
const VERBOSE = `<superblock uuid="" time="0" transaction="1" data_block_size="128" nr_data_blocks="1000">
  <diff left="1" right="2">
    <same>
      <range begin="0" data_begin="0" length="2"/>
    </same>
    <different>
      <range begin="5" left_data_begin="7" right_data_begin="8" length="1"/>
    </different>
    <right_only>
      <range begin="9" data_begin="9" length="1"/>
    </right_only>
  </diff>
</superblock>
`;
const EXPECTED = [
  { kind: 'same', begin: 0, length: 2 },
  { kind: 'different', begin: 5, length: 1 },
  { kind: 'right_only', begin: 9, length: 1 },
];

const doc = (body: string, sb = 'data_block_size="128"') =>
  `<superblock ${sb}>\n<diff left="1" right="2">\n${body}\n</diff>\n</superblock>\n`;
const fails = (text: string, pattern: RegExp, limits = {}) =>
  assert.throws(
    () => parseThinDelta(text, limits),
    (e: unknown) => e instanceof ThinDeltaError && pattern.test(e.message),
  );

describe('thin_delta XML', () => {
  it('parses real compact output', () => {
    const d = parseThinDelta(COMPACT, { left: 1, right: 2, maxVirtualBlocks: 10 });
    assert.equal(d.dataBlockSize, 128);
    assert.deepEqual(d.ranges, EXPECTED);
  });

  it('parses real --verbose output to the same ranges', () => {
    assert.deepEqual(parseThinDelta(VERBOSE).ranges, EXPECTED);
  });

  it('accepts the document in pieces of any size (streaming)', () => {
    for (const size of [1, 3, 17]) {
      const p = new ThinDeltaParser();
      for (let i = 0; i < VERBOSE.length; i += size) p.push(VERBOSE.slice(i, i + size));
      assert.deepEqual(p.end().ranges, EXPECTED);
    }
  });

  it('streams ranges to a callback without keeping them', () => {
    const seen: string[] = [];
    const p = new ThinDeltaParser({ onRange: (r) => seen.push(`${r.kind}:${r.begin}+${r.length}`) });
    p.push(COMPACT);
    assert.deepEqual(p.end().ranges, []);
    assert.deepEqual(seen, ['same:0+2', 'different:5+1', 'right_only:9+1']);
  });

  it('refuses a truncated document at every cut', () => {
    for (let cut = 0; cut < COMPACT.trimEnd().length; cut++) {
      assert.throws(() => parseThinDelta(COMPACT.slice(0, cut)), ThinDeltaError, `cut at ${cut}`);
    }
  });

  it('refuses garbled documents', () => {
    fails(doc('<different begin="5" length="1"/>').replace('<diff', '<dif'), /unexpected <dif>/);
    fails(doc('<different begin="5" length="1">'), /verbose form/);
    fails(doc('<different begin="5" length="1"/>junk'), /text/);
    fails(`${doc('')}<superblock>`, /after the document/);
    fails(doc('<different begin="5" length="1"/>', 'uuid=""'), /data_block_size/);
    fails(doc('<different begin="5"/>'), /length/);
    fails(doc('<different begin="5" length="1" colour="red"/>'), /attribute colour/);
    fails(doc('<different begin="5" begin="6" length="1"/>'), /twice/);
    fails(doc('<different begin=\'5\' length="1"/>'), /malformed/);
    fails(doc('<!-- hi --><different begin="5" length="1"/>'), /malformed/);
    fails(doc('<range begin="5" length="1"/>'), /unexpected <range>/);
  });

  it('refuses unknown elements', () => {
    fails(doc('<moved begin="5" length="1"/>'), /unexpected <moved>/);
  });

  it('refuses out-of-range and non-decimal numbers', () => {
    fails(doc('<different begin="-5" length="1"/>'), /begin/);
    fails(doc('<different begin="0x5" length="1"/>'), /begin/);
    fails(doc('<different begin="99999999999999999999" length="1"/>'), /begin/);
    fails(doc('<different begin="5" length="0"/>'), /length/);
    fails(doc('<different begin="5" length="1"/>', 'data_block_size="100"'), /data_block_size/);
    fails(doc('<different begin="5" length="1"/>', 'data_block_size="4194304"'), /data_block_size/);
    fails(doc('<different begin="8" length="3"/>'), /beyond/, { maxVirtualBlocks: 10 });
    fails(doc('<different begin="5" length="2"/><same begin="6" length="1"/>'), /order/);
    fails(doc(''), /left/, { left: 3 });
  });

  it('enforces its size limits', () => {
    fails(COMPACT, /ranges/, { maxRanges: 2 });
    fails(`<superblock data_block_size="128" uuid="${'x'.repeat(5000)}">`, /too long/);
    fails(COMPACT, /bytes/, { maxBytes: 100 });
  });
});
