// Packs every workspace package as npm would publish it and checks the tarballs:
// - files: dist JavaScript, declarations and source maps, README.md, LICENSE (identical to the repository's),
//   CHANGELOG.md; no TypeScript sources, no tests; a size budget per package;
// - source maps carry their sources (sourcesContent), since src/ is not shipped;
// - metadata: repository (with directory), homepage, bugs, engines, keywords, license;
// - publint (package.json and exports) and @arethetypeswrong/cli (types resolution) on each tarball;
// - the tarballs installed into a scratch project: `require()` and `import` of every package in Node, and strict
//   type-checks of a CommonJS (.cts) and an ESM consumer without skipLibCheck, and of @onnx-vae/web under a browser
//   tsconfig (lib dom, no @types/node).
// Usage: node scripts/check-packages.mjs [--keep]   (CI runs it; needs `pnpm build` first)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const PNPM = ['-y', 'pnpm@10.34.9'];
const SIZE_BUDGET_KB = { default: 400 }; // packed size per package
// attw's node16 (from CJS) check predates require(esm): these packages are ESM, and Node >= 20.19 loads them with
// require() (tested below); TypeScript >= 5.8 models that with "module": "node20". So that one rule is ignored.
const ATTW_IGNORED = ['cjs-resolves-to-esm'];

const work = mkdtempSync(join(tmpdir(), 'onnx-vae-pack-'));
const failures = [];
const fail = (message) => {
  failures.push(message);
  console.error(`  FAIL ${message}`);
};
const run = (command, args, options = {}) => execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });

const packages = readdirSync(join(root, 'packages'))
  .filter((name) => existsSync(join(root, 'packages', name, 'package.json')))
  .map((name) => ({ name, dir: join(root, 'packages', name), json: JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8')) }))
  .filter((p) => !p.json.private);
const license = readFileSync(join(root, 'LICENSE'), 'utf8');
const tarballs = {};

for (const pkg of packages) {
  console.log(`${pkg.json.name}`);
  const out = join(work, pkg.name);
  mkdirSync(out);
  run('npx', [...PNPM, 'pack', '--pack-destination', out], { cwd: pkg.dir });
  const tarball = join(
    out,
    readdirSync(out).find((f) => f.endsWith('.tgz')),
  );
  tarballs[pkg.json.name] = tarball;
  const kb = statSync(tarball).size / 1024;
  const budget = SIZE_BUDGET_KB[pkg.name] ?? SIZE_BUDGET_KB.default;
  console.log(`  packed ${kb.toFixed(1)} KiB (budget ${budget} KiB)`);
  if (kb > budget) fail(`${pkg.json.name}: ${kb.toFixed(1)} KiB over the budget of ${budget} KiB`);
  const files = run('tar', ['tzf', tarball])
    .trim()
    .split('\n')
    .map((f) => f.replace(/^package\//, ''));
  for (const required of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md'])
    if (!files.includes(required)) fail(`${pkg.json.name}: ${required} missing from the tarball`);
  // bin/: an executable's committed shim (the CLI's), so the bin can be linked before dist/ is built.
  const stray = files.filter((f) => !/^(dist\/.*\.(js|d\.ts|js\.map)|bin\/[^/]+\.js|package\.json|README\.md|LICENSE|CHANGELOG\.md)$/.test(f));
  if (stray.length > 0) fail(`${pkg.json.name}: unexpected files in the tarball: ${stray.slice(0, 10).join(', ')}`);
  const unpacked = join(out, 'unpacked');
  mkdirSync(unpacked);
  run('tar', ['xzf', tarball, '-C', unpacked]);
  if (readFileSync(join(unpacked, 'package', 'LICENSE'), 'utf8') !== license) fail(`${pkg.json.name}: LICENSE differs from the repository's`);
  for (const map of files.filter((f) => f.endsWith('.map'))) {
    const parsed = JSON.parse(readFileSync(join(unpacked, 'package', map), 'utf8'));
    if (!Array.isArray(parsed.sourcesContent) || parsed.sourcesContent.some((s) => typeof s !== 'string')) {
      fail(`${pkg.json.name}: ${map} has no sourcesContent (src/ is not shipped)`);
      break;
    }
  }
  const meta = pkg.json;
  if (meta.repository?.directory !== `packages/${pkg.name}`) fail(`${meta.name}: repository.directory should be packages/${pkg.name}`);
  for (const field of ['homepage', 'bugs', 'engines', 'keywords', 'license']) if (meta[field] === undefined) fail(`${meta.name}: no "${field}"`);
  const readme = readFileSync(join(pkg.dir, 'README.md'), 'utf8');
  for (const [, link] of readme.matchAll(/\]\(([^)#]+)(#[^)]*)?\)/g)) {
    if (/^(https?:|mailto:)/.test(link)) continue;
    if (!files.includes(link.replace(/^\.\//, ''))) fail(`${meta.name}: README links "${link}", which the package does not ship; link the repository instead`);
  }
  try {
    run('npx', [...PNPM, 'exec', 'publint', '--strict', pkg.dir], { cwd: root });
    console.log('  publint: clean');
  } catch (error) {
    fail(`${meta.name}: publint:\n${error.stdout}${error.stderr}`);
  }
  try {
    run('npx', [...PNPM, 'exec', 'attw', tarball, '--format', 'ascii', '--ignore-rules', ...ATTW_IGNORED], { cwd: root });
    console.log(`  attw: clean (ignoring ${ATTW_IGNORED.join(', ')})`);
  } catch (error) {
    fail(`${meta.name}: attw:\n${error.stdout}${error.stderr}`);
  }
}

// A consumer project: the tarballs installed with their dependencies (pnpm's store; no install scripts run).
const consumer = join(work, 'consumer');
mkdirSync(consumer);
const overrides = Object.fromEntries(Object.entries(tarballs).map(([name, file]) => [name, `file:${file}`]));
writeFileSync(
  join(consumer, 'package.json'),
  JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: overrides, pnpm: { overrides } }, null, 2),
);
const typescript = JSON.parse(readFileSync(join(root, 'node_modules', 'typescript', 'package.json'), 'utf8')).version;
const typesNode = JSON.parse(readFileSync(join(root, 'node_modules', '@types', 'node', 'package.json'), 'utf8')).version;
console.log('consumer project');
try {
  run('npx', [...PNPM, 'add', '--prefer-offline', `typescript@${typescript}`, `@types/node@${typesNode}`], {
    cwd: consumer,
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
  });
} catch (error) {
  fail(`installing the tarballs: ${error.stderr}`);
}
const nodePackages = packages.filter((p) => p.name !== 'web').map((p) => p.json.name);
for (const name of nodePackages) {
  try {
    run('node', ['-e', `const m = require(${JSON.stringify(name)}); if (Object.keys(m).length === 0) process.exit(3);`], { cwd: consumer });
    run('node', ['--input-type=module', '-e', `const m = await import(${JSON.stringify(name)}); if (Object.keys(m).length === 0) process.exit(3);`], {
      cwd: consumer,
    });
    console.log(`  ${name}: require() and import work`);
  } catch (error) {
    fail(`${name}: require/import in Node ${process.version}: ${error.stderr}`);
  }
}
const strict = { strict: true, noEmit: true, skipLibCheck: false, target: 'ES2022', types: [] };
writeFileSync(
  join(consumer, 'esm.ts'),
  [
    "import { loadVae, VaeError } from '@onnx-vae/node';",
    "import type { Vae } from '@onnx-vae/core';",
    "const vae = await loadVae('m');",
    "// A loaded model is a Vae (its type parameters default so that any runtime's Vae fits).",
    'export const general: Vae = vae;',
    '// @ts-expect-error a number is no tensor input (the published types are not `any`)',
    'await vae.encode(42);',
    'export const ok: boolean = VaeError.isInstance(new Error());',
    '',
  ].join('\n'),
);
writeFileSync(join(consumer, 'cjs.cts'), `import { loadVae } from '@onnx-vae/node';\nexport const load: typeof loadVae = loadVae;\n`);
writeFileSync(
  join(consumer, 'tsconfig.json'),
  JSON.stringify({
    compilerOptions: { ...strict, module: 'nodenext', moduleResolution: 'nodenext', lib: ['ES2022', 'ESNext.Disposable'], types: ['node'] },
    files: ['esm.ts', 'cjs.cts'],
  }),
);
writeFileSync(
  join(consumer, 'browser.ts'),
  `import { loadVae } from '@onnx-vae/web';\nconst vae = await loadVae(new URL('/models/kl-f8/', location.href));\nexport const name: string = vae.manifest.name;\nexport const device: string = vae.backendInfo.device;\n`,
);
writeFileSync(
  join(consumer, 'tsconfig.browser.json'),
  JSON.stringify({
    compilerOptions: { ...strict, module: 'esnext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM', 'ESNext.Disposable'] },
    files: ['browser.ts'],
  }),
);
for (const project of ['tsconfig.json', 'tsconfig.browser.json']) {
  try {
    run('npx', [...PNPM, 'exec', 'tsc', '-p', project], { cwd: consumer });
    console.log(`  tsc -p ${project}: clean`);
  } catch (error) {
    fail(`consumer tsc -p ${project}:\n${error.stdout}${error.stderr}`);
  }
}

if (process.argv.includes('--keep')) console.log(`kept ${work}`);
else rmSync(work, { recursive: true, force: true });
if (failures.length > 0) {
  console.error(`check-packages: ${failures.length} problem(s)`);
  process.exit(1);
}
console.log(`check-packages: ${packages.length} packages clean`);
