// Builds the chat page's script: type-checks chat.ts and what it imports (tsc, strict, see
// tsconfig.json), then bundles it with the pinned @microsoft/signalr into one minified file
// (esbuild), target/chat-web/chat.js unless an output file is given. Both tools come from
// interop/node_modules (`npm ci --prefix interop`); nothing is fetched.
//
//   node examples/web/build.mjs [out.js]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const nodeModules = path.join(root, 'interop', 'node_modules');
const outfile = path.resolve(process.argv[2] ?? path.join(root, 'target', 'chat-web', 'chat.js'));

if (!existsSync(path.join(nodeModules, 'esbuild')) || !existsSync(path.join(nodeModules, '@microsoft', 'signalr'))) {
  console.error('The pinned npm packages are missing: run `npm ci --prefix interop` first.');
  process.exit(1);
}

const tsc = spawnSync(path.join(nodeModules, '.bin', 'tsc'), ['-p', path.join(here, 'tsconfig.json')], {
  stdio: 'inherit',
});
if (tsc.status !== 0) {
  console.error(`tsc found errors in examples/web (exit ${tsc.status ?? tsc.signal})`);
  process.exit(1);
}

const esbuild = createRequire(path.join(nodeModules, 'package.json'))('esbuild');
await esbuild.build({
  entryPoints: [path.join(here, 'chat.ts')],
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2020',
  // The page and the generated modules import @microsoft/signalr from the pinned packages.
  nodePaths: [nodeModules],
  outfile,
  logLevel: 'warning',
});
console.log(`built ${path.relative(process.cwd(), outfile) || outfile}`);
