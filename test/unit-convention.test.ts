// `npm run test:unit` runs the tests beside the code (source-agent/, protocol/, dest-helper/,
// confined-fs/) and promises they need no root, no system tools and no CLI subprocess; this
// keeps the promise: such a test must not use the helpers that bring those in. Tests that do
// live under test/ and run in `npm test`.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from './helpers/paths.js';

const UNIT_FOLDERS = ['source-agent', 'protocol', 'dest-helper', 'confined-fs'];
/** Helpers that run the CLI as a subprocess, need root or system tools, or start servers. */
const INTEGRATION_HELPERS = ['cli', 'system', 'sshd', 'loop-fs', 'tmux', 'qvm-run'];

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('unit tests (npm run test:unit)', () => {
  it('use no helper that needs root, system tools or a CLI subprocess', () => {
    const files = UNIT_FOLDERS.flatMap((folder) => testFiles(join(PROJECT_ROOT, folder)));
    assert.ok(files.length > 20, `found ${files.length} unit test files`);
    const offenders = files.flatMap((file) => {
      const text = readFileSync(file, 'utf8');
      return INTEGRATION_HELPERS.filter((helper) => new RegExp(`test/helpers/${helper}\\.js'`).test(text)).map(
        (helper) => `${relative(PROJECT_ROOT, file)} imports test/helpers/${helper}.js`,
      );
    });
    assert.deepEqual(offenders, []);
  });
});
