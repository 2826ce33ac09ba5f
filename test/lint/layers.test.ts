// The layer rules in biome.json (doc/design.md, "Layers") must catch a bad import — or, for
// engine/, a Store write call or an archive path spelled out (lint/*.grit) — not merely be
// present: files that break each kind of rule are planted in a scratch tree beside a copy of
// the project's biome.json, and Biome (the one `npm run lint` runs) must name every one, and
// stay quiet about a file that imports only what its layer may. Offline and quick: no build of
// the project is linted, only the planted files.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { scratchDir } from '../helpers/cli.js';
import { PROJECT_ROOT } from '../helpers/paths.js';

interface Diagnostic {
  category: string;
  message: string;
  location: { path: string };
}

const scratch = scratchDir('skiff-layers-');
after(scratch.cleanup);

/** Each planted file, the rule it breaks, and words its message must hold. */
const PLANTED: { path: string; text: string; category: string; says: string }[] = [
  {
    path: 'source-agent/qubes/planted.ts',
    text: "import { send } from '../engine/send/send.js';\nexport const x = send;\n",
    category: 'lint/style/noRestrictedImports',
    says: 'source-agent/qubes/ (skiff-qubes) drives skiff through its command line',
  },
  {
    path: 'source-agent/store/planted.ts',
    text: "import { send } from '../engine/send/send.js';\nexport const x = send;\n",
    category: 'lint/style/noRestrictedImports',
    says: 'source-agent/store/ may import only',
  },
  {
    path: 'source-agent/store/remote/planted.ts',
    text: "import { run } from '../../cli/run.js';\nexport const x = run;\n",
    category: 'lint/style/noRestrictedImports',
    says: 'source-agent/store/ may import only',
  },
  {
    path: 'source-agent/store/planted-reexport.ts',
    text: "export type { Output } from '../engine/output.js';\n",
    category: 'lint/style/noRestrictedImports',
    says: 'source-agent/store/ may import only',
  },
  {
    path: 'source-agent/sys/planted.ts',
    text: "export const later = () => import('../engine/send/send.js');\n",
    category: 'lint/style/noRestrictedImports',
    says: 'source-agent/sys/ may import only',
  },
  {
    path: 'source-agent/archive/planted.ts',
    text: "import { connect } from '../transport/connect.js';\nexport const x = connect;\n",
    category: 'lint/style/noRestrictedImports',
    says: 'source-agent/archive/ may import only',
  },
  {
    path: 'source-agent/archive/crypto/planted.ts',
    text: "import { LocalStore } from '../../store/local-store.js';\nexport const x = LocalStore;\n",
    category: 'lint/style/noRestrictedImports',
    says: 'only through the Store interface',
  },
  {
    path: 'source-agent/engine/planted.ts',
    text: "import { run } from '../cli/run.js';\nexport const x = run;\n",
    category: 'lint/style/noRestrictedImports',
    says: 'source-agent/engine/ may import only',
  },
  {
    path: 'source-agent/agent/planted.ts',
    text: "import { spawn } from 'node:child_process';\nexport const x = spawn;\n",
    category: 'lint/style/noRestrictedImports',
    says: 'Only source-agent/sys/ starts processes',
  },
  {
    path: 'source-agent/engine/planted-dynamic.ts',
    text: "export const start = () => import('node:child_process');\n",
    category: 'lint/style/noRestrictedImports',
    says: 'Only source-agent/sys/ starts processes',
  },
  {
    path: 'source-agent/transport/planted.ts',
    text: "import { execFile } from 'node:child_process';\nexport const x = execFile;\n",
    category: 'lint/style/noRestrictedImports',
    says: 'Only source-agent/sys/ starts processes',
  },
  {
    path: 'protocol/planted.ts',
    text: "import { FatalError } from '../source-agent/errors.js';\nexport const x = FatalError;\n",
    category: 'lint/style/noRestrictedImports',
    says: 'protocol/ imports nothing of ours',
  },
  {
    path: 'protocol/planted-io.ts',
    text: "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n",
    category: 'lint/style/noRestrictedImports',
    says: 'protocol/ does no I/O',
  },
  {
    path: 'dest-helper/planted.ts',
    text: "import { isNotFound } from '../source-agent/store/store.js';\nexport const x = isNotFound;\n",
    category: 'lint/style/noRestrictedImports',
    says: 'dest-helper/ imports only protocol/ and confined-fs/',
  },
  {
    path: 'confined-fs/planted.ts',
    text: "import { StoreError } from '../source-agent/store/store.js';\nexport const x = StoreError;\n",
    category: 'lint/style/noRestrictedImports',
    says: 'confined-fs/ imports nothing of ours',
  },
  {
    path: 'confined-fs/planted-protocol.ts',
    text: "import { encodeFrame } from '../protocol/frames.js';\nexport const x = encodeFrame;\n",
    category: 'lint/style/noRestrictedImports',
    says: 'confined-fs/ imports nothing of ours',
  },
  {
    path: 'source-agent/engine/planted-store-write.ts',
    text: "import type { Archive } from '../archive/archive.js';\nexport const x = (a: Archive, b: Buffer) => a.store.put(a.ini.uuid, b);\n",
    category: 'plugin',
    says: 'engine/ never calls a Store write operation',
  },
  {
    path: 'source-agent/engine/send/planted-rename.ts',
    text: 'export const x = (s: { renameBatch(p: [string, string][]): void }, a: string, b: string) => s.renameBatch([[a, b]]);\n',
    category: 'plugin',
    says: 'engine/ never calls a Store write operation',
  },
  {
    path: 'source-agent/engine/planted-path.ts',
    text: "export const x = 'archive.ini.tmp';\n",
    category: 'plugin',
    says: 'engine/ spells no archive path',
  },
  {
    path: 'source-agent/engine/prune/planted-template.ts',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the planted file's source text, not a template
    text: 'export const x = (vid: string) => `${vid}/volinfo.tmp`;\n',
    category: 'plugin',
    says: 'engine/ spells no archive path',
  },
  {
    path: 'source-agent/engine/circle-a.ts',
    text: "import { b } from './circle-b.js';\nexport const a = () => b;\n",
    category: 'lint/suspicious/noImportCycles',
    says: 'cycle',
  },
  {
    path: 'source-agent/engine/circle-b.ts',
    text: "import { a } from './circle-a.js';\nexport const b = () => a;\n",
    category: 'lint/suspicious/noImportCycles',
    says: 'cycle',
  },
];

/** Imports their layers allow: must draw no diagnostic. */
const ALLOWED = [
  {
    path: 'source-agent/engine/allowed.ts',
    text: [
      "import { layout } from '../archive/layout.js';",
      "import { Transaction } from '../archive/transaction.js';",
      "import { parseVolInfo } from '../archive/volinfo.js';",
      "import { FatalError } from '../errors.js';",
      "import { isNotFound } from '../store/store.js';",
      "import { execFileCapture } from '../sys/exec.js';",
      "export const x = [layout, Transaction, parseVolInfo, FatalError, isNotFound, execFileCapture, 'merge', layout.volinfoTmp];",
      '',
    ].join('\n'),
  },
  {
    path: 'confined-fs/allowed.ts',
    text: [
      "import { isArchivePath } from '../protocol/paths.js';",
      "import { errnoOf } from '../protocol/thrown.js';",
      "import { at } from './beneath-root.js';",
      'export const x = [isArchivePath, errnoOf, at];',
      '',
    ].join('\n'),
  },
];

function lintPlanted(): Diagnostic[] {
  const root = join(scratch.dir, 'tree');
  mkdirSync(root);
  copyFileSync(join(PROJECT_ROOT, 'biome.json'), join(root, 'biome.json'));
  // The GritQL plugins biome.json loads (engine/ writes through archive/).
  cpSync(join(PROJECT_ROOT, 'lint'), join(root, 'lint'), { recursive: true });
  for (const file of [...PLANTED, ...ALLOWED]) {
    mkdirSync(dirname(join(root, file.path)), { recursive: true });
    writeFileSync(join(root, file.path), file.text);
  }
  const biome = join(PROJECT_ROOT, 'node_modules/.bin/biome');
  let stdout: string;
  try {
    stdout = execFileSync(biome, ['lint', '--reporter=json', '--max-diagnostics=none', '.'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    // Biome exits 1 when it finds errors, which is what this test wants to see.
    stdout = String((error as { stdout?: unknown }).stdout ?? '');
    if (!stdout) throw error;
  }
  return (JSON.parse(stdout) as { diagnostics: Diagnostic[] }).diagnostics;
}

describe('the layer rules', () => {
  const diagnostics = lintPlanted();

  for (const planted of PLANTED) {
    it(`refuse ${planted.path}`, () => {
      const found = diagnostics.filter((d) => d.location.path === planted.path);
      assert.ok(
        found.some((d) => d.category === planted.category && d.message.includes(planted.says)),
        `expected ${planted.category} "${planted.says}…" on ${planted.path}, got ${JSON.stringify(found)}`,
      );
    });
  }

  for (const allowed of ALLOWED) {
    it(`let the allowed imports of ${allowed.path} through`, () => {
      assert.deepEqual(
        diagnostics.filter((d) => d.location.path === allowed.path),
        [],
      );
    });
  }
});
