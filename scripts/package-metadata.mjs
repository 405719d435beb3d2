// Writes the shared npm metadata (repository, homepage, bugs, engines, license files, author-facing fields) into
// every workspace package's package.json, so that the fields stay identical. Run after adding a package:
// `node scripts/package-metadata.mjs` (CI runs it with --check and fails when a package.json differs).
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const check = process.argv.includes('--check');
const rootPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const repository = 'https://github.com/onnx-vae/onnx-vae';
const KEYWORDS = ['vae', 'variational-autoencoder', 'onnx', 'onnxruntime', 'latent-diffusion', 'stable-diffusion', 'taesd', 'machine-learning'];

let stale = 0;
for (const name of readdirSync(join(root, 'packages')).sort()) {
  const file = join(root, 'packages', name, 'package.json');
  if (!existsSync(file)) continue;
  const before = readFileSync(file, 'utf8');
  const pkg = JSON.parse(before);
  const next = {
    name: pkg.name,
    version: pkg.version,
    description: pkg.description,
    keywords: KEYWORDS,
    homepage: `${repository}/tree/main/packages/${name}#readme`,
    bugs: { url: `${repository}/issues` },
    repository: { type: 'git', url: `git+${repository}.git`, directory: `packages/${name}` },
    license: rootPackage.license,
    engines: rootPackage.engines,
    ...pkg,
  };
  // Fields this script owns always take its values.
  Object.assign(next, {
    keywords: KEYWORDS,
    homepage: `${repository}/tree/main/packages/${name}#readme`,
    bugs: { url: `${repository}/issues` },
    repository: { type: 'git', url: `git+${repository}.git`, directory: `packages/${name}` },
    license: rootPackage.license,
    engines: rootPackage.engines,
  });
  if (Array.isArray(next.files)) next.files = [...new Set([...next.files, 'README.md', 'LICENSE', 'CHANGELOG.md'])];
  const after = `${JSON.stringify(next, null, 2)}\n`;
  const license = join(root, 'packages', name, 'LICENSE');
  const licenseText = readFileSync(join(root, 'LICENSE'), 'utf8');
  const licenseStale = !existsSync(license) || readFileSync(license, 'utf8') !== licenseText;
  if (after !== before || licenseStale) {
    stale++;
    if (check) console.error(`packages/${name}: package.json metadata or LICENSE out of date; run node scripts/package-metadata.mjs`);
    else {
      writeFileSync(file, after);
      writeFileSync(license, licenseText);
      console.log(`packages/${name}: updated`);
    }
  }
}
if (check && stale > 0) process.exit(1);
