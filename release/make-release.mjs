// Release step (`npm run release`, after `npm run build`): makes skiff-<version>.tgz, a package
// that `npm install -g ./skiff-<version>.tgz --offline` installs on a machine with no network and
// no compiler (Qubes dom0). Nothing in it is fetched or built at install time:
// - each process entry (the CLI, the key agent, the two worker kinds) is one esbuild bundle with
//   the JavaScript dependencies inlined (clipanion, typanion, hash-wasm, whose wasm is inlined);
// - zstd-napi's compiled addon is shipped as a file beside the bundles: it is a Node-API (v8)
//   addon, so one build loads on every Node from 16 on; the package has no dependencies and no
//   install scripts, so npm neither downloads a prebuilt binary nor runs node-gyp. (zstd-napi
//   ships no prebuilds in its npm package: its install script fetches one from GitHub or
//   compiles. Node's built-in zstd is not a substitute: its streaming compressor does not always
//   give the one-shot compressor's bytes, and chunk hashes are over compressed bytes.)
// - libbzip2's .wasm (bzip2-wasm) is shipped beside the bundles too;
// - the destination helper (dist/dest-helper/skiff-dest-helper.cjs, already one file) and the
//   qrexec service files (qubes-rpc/) come along for the destination qube.
// Usage: node release/make-release.mjs [--out-dir DIR]   (default: the project root)

import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDirArg = process.argv.indexOf('--out-dir');
const outDir = outDirArg === -1 ? root : resolve(process.argv[outDirArg + 1] ?? '');

// Qubes 4.3's dom0 is Fedora 41 (glibc 2.40): an addon built against a newer glibc would not load
// there. Building on Debian 12 (glibc 2.36) gives an addon that needs at most GLIBC_2.34.
const NEWEST_GLIBC_ALLOWED = [2, 40];

function fail(message) {
  process.stderr.write(`make-release: ${message}\n`);
  process.exit(1);
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const versionSource = readFileSync(join(root, 'source-agent/version.ts'), 'utf8');
if (!versionSource.includes(`VERSION = '${pkg.version}'`)) fail(`source-agent/version.ts does not say ${pkg.version} (package.json)`);

const helper = join(root, 'dist/dest-helper/skiff-dest-helper.cjs');
const zstdAddon = join(root, 'node_modules/zstd-napi/build/Release/binding.node');
const bzip2Wasm = join(root, 'node_modules/bzip2-wasm/bzip2-1.0.8/bzip2.wasm');
if (!existsSync(helper)) fail(`${helper} is missing: run npm run build first`);
if (!existsSync(zstdAddon)) fail(`${zstdAddon} is missing: zstd-napi was not built (npm ci runs its build)`);
checkGlibc(zstdAddon);

const stage = mkdtempSync(join(tmpdir(), 'skiff-release-'));
try {
  const pkgDir = join(stage, 'package');
  const binDir = join(pkgDir, 'dist/source-agent');
  await bundle(binDir);
  chmodSync(join(binDir, 'main.js'), 0o755);
  chmodSync(join(binDir, 'skiff-qubes.js'), 0o755);
  copyFileSync(zstdAddon, join(binDir, 'zstd-napi.node'));
  copyFileSync(bzip2Wasm, join(binDir, 'bzip2.wasm'));
  // At dist/source-agent/main.js, helper-upload.ts's '../../dest-helper/…' is the package's dest-helper/.
  mkdirSync(join(pkgDir, 'dest-helper'));
  copyFileSync(helper, join(pkgDir, 'dest-helper/skiff-dest-helper.cjs'));
  cpSync(join(root, 'qubes-rpc'), join(pkgDir, 'qubes-rpc'), { recursive: true });
  copyFileSync(join(root, 'README.md'), join(pkgDir, 'README.md'));
  copyLicenses(join(pkgDir, 'licenses'));
  writeFileSync(join(pkgDir, 'package.json'), `${JSON.stringify(releaseManifest(), null, 2)}\n`);
  mkdirSync(outDir, { recursive: true });
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--offline', '--pack-destination', outDir], {
      cwd: pkgDir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const file = join(outDir, packed[0].filename);
  process.stdout.write(`${file} (${packed[0].size} bytes, ${packed[0].entryCount} files)\n`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}

/** The five process entries (skiff, skiff-qubes, the key agent, two workers), each bundled whole into binDir (the URLs between them stay valid). */
async function bundle(binDir) {
  const seamsUsed = new Set();
  // Module → replacement, for the two places that find a file inside node_modules at run time.
  const seams = {
    'zstd-binding': [
      "import { createRequire } from 'node:module';",
      "export default createRequire(import.meta.url)('./zstd-napi.node');",
    ].join('\n'),
    'bzip2-wasm-file': [
      "import { fileURLToPath } from 'node:url';",
      "export function bzip2WasmFile() { return fileURLToPath(new URL('./bzip2.wasm', import.meta.url)); }",
    ].join('\n'),
  };
  const releaseSeams = {
    name: 'release-seams',
    setup(b) {
      b.onResolve({ filter: /^zstd-napi\/binding\.js$/ }, () => ({ path: 'zstd-binding', namespace: 'seam' }));
      b.onResolve({ filter: /\/bzip2-wasm-file\.js$/ }, () => ({ path: 'bzip2-wasm-file', namespace: 'seam' }));
      b.onLoad({ filter: /.*/, namespace: 'seam' }, (args) => {
        seamsUsed.add(args.path);
        return { contents: seams[args.path], loader: 'js', resolveDir: root };
      });
    },
  };
  await build({
    absWorkingDir: root,
    entryPoints: {
      main: 'source-agent/main.ts',
      // Beside main.js, so that the worker and agent URLs skiff computes from it stay valid.
      'skiff-qubes': 'source-agent/qubes/main.ts',
      'key-agent': 'source-agent/agent/key-agent.ts',
      'chunk-worker': 'source-agent/engine/workers/chunk-worker.ts',
      'decode-worker': 'source-agent/engine/workers/decode-worker.ts',
    },
    outdir: binDir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // The bundled CommonJS packages (clipanion, typanion) call require() for Node's modules.
    banner: {
      js: "import { createRequire as __skiffCreateRequire } from 'node:module';\nconst require = __skiffCreateRequire(import.meta.url);",
    },
    legalComments: 'inline',
    plugins: [releaseSeams],
    logLevel: 'warning',
  });
  for (const name of Object.keys(seams))
    if (!seamsUsed.has(name)) fail(`the bundle never loaded the ${name} seam: was the import renamed?`);
}

function releaseManifest() {
  return {
    name: pkg.name,
    version: pkg.version,
    description: pkg.description,
    type: 'module',
    license: pkg.license,
    private: true,
    engines: pkg.engines,
    os: ['linux'],
    cpu: ['x64'],
    bin: { skiff: 'dist/source-agent/main.js', 'skiff-qubes': 'dist/source-agent/skiff-qubes.js' },
  };
}

/** Each shipped third-party package's licence file, or a note of its licence where it has none. */
function copyLicenses(dir) {
  mkdirSync(dir);
  for (const name of ['clipanion', 'typanion', 'hash-wasm', 'bzip2-wasm', 'zstd-napi']) {
    const depDir = join(root, 'node_modules', name);
    const dep = JSON.parse(readFileSync(join(depDir, 'package.json'), 'utf8'));
    const files = ['LICENSE', 'LICENSE.md', 'NOTICE'].filter((f) => existsSync(join(depDir, f)));
    for (const f of files) copyFileSync(join(depDir, f), join(dir, `${name}.${f}`));
    if (files.length === 0) {
      const author = typeof dep.author === 'string' ? dep.author : (dep.author?.name ?? 'see its repository');
      writeFileSync(
        join(dir, `${name}.LICENSE`),
        `${name} ${dep.version}: licence ${dep.license} (package.json; the package ships no licence file). Author: ${author}.\n`,
      );
    }
  }
  copyFileSync(join(root, 'node_modules/zstd-napi/deps/zstd/LICENSE'), join(dir, 'zstd.LICENSE'));
}

/** Fails when the addon needs a newer glibc than NEWEST_GLIBC_ALLOWED (its version needs, as text). */
function checkGlibc(file) {
  const text = readFileSync(file).toString('latin1');
  let newest = [0, 0];
  for (const m of text.matchAll(/GLIBC_(\d+)\.(\d+)/g)) {
    const v = [Number(m[1]), Number(m[2])];
    if (v[0] > newest[0] || (v[0] === newest[0] && v[1] > newest[1])) newest = v;
  }
  const [maxMajor, maxMinor] = NEWEST_GLIBC_ALLOWED;
  if (newest[0] > maxMajor || (newest[0] === maxMajor && newest[1] > maxMinor)) {
    fail(`${file} needs GLIBC_${newest.join('.')}, newer than Fedora 41's ${NEWEST_GLIBC_ALLOWED.join('.')}: build on an older system`);
  }
}
