// The TypeScript modules typescript-gen writes for the example hubs (examples/typescript, JSON
// forms; examples/typescript/messagepack, MessagePack forms), with the pinned TypeScript,
// esbuild and official client:
// - they type-check strictly, and so does a program that uses them (interop/typescript/live);
// - misuse is a compile error: each file of interop/typescript/negative fails with exactly the
//   errors its `// expect error` comments name;
// - the program, bundled with esbuild, runs against the live `interop` and `streaming`
//   servers over JSON and over MessagePack: typed calls, a typed receiver, server streams,
//   uploads and a client result.
// (`scripts/test` first checks that the committed modules are what the generator writes.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { repoRoot, startServer } from '../lib/server.mjs';

const T = { timeout: 60_000 };
const interop = path.join(repoRoot, 'interop');
const tsc = path.join(interop, 'node_modules', '.bin', 'tsc');
const programs = path.join(interop, 'typescript');
const negative = path.join(programs, 'negative');
const out = path.join(repoRoot, 'target', 'typescript-live');

/** Runs the pinned tsc (strict, no output) from the repository root; returns its exit code and diagnostics. */
function typeCheck(project) {
  const result = spawnSync(tsc, ['-p', project, '--strict', '--noEmit', '--pretty', 'false'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/**
 * tsc's errors as { file, line, code, message } (the first line of each message), file
 * relative to the repository root.
 */
function errors(output) {
  const found = [];
  for (const line of output.split('\n')) {
    const match = /^(.+?)\((\d+),\d+\): error (TS\d+): (.*)$/.exec(line);
    if (match) found.push({ file: match[1], line: Number(match[2]), code: match[3], message: match[4] });
  }
  return found;
}

/** The errors a negative file expects: `// expect error TSxxxx: message` names the next line's. */
function expectedErrors(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const expected = [];
  lines.forEach((text, index) => {
    const match = /^\s*\/\/ expect error (TS\d+): (.*)$/.exec(text);
    if (match) {
      const relative = path.relative(repoRoot, file);
      expected.push({ file: relative, line: index + 2, code: match[1], message: match[2] });
    }
  });
  return expected;
}

test('the generated modules type-check strictly against the pinned @microsoft/signalr', T, () => {
  const { status, output } = typeCheck(path.join(repoRoot, 'examples', 'typescript'));
  assert.equal(status, 0, output);
});

test('a program using them type-checks strictly', T, () => {
  const { status, output } = typeCheck(programs);
  assert.equal(status, 0, output);
});

describe('misuse of a generated module is a compile error', () => {
  let found;
  before(() => {
    const { status, output } = typeCheck(negative);
    assert.notEqual(status, 0, `tsc accepted interop/typescript/negative:\n${output}`);
    found = errors(output);
    assert.ok(found.length > 0, `no errors parsed from tsc's output:\n${output}`);
  });

  const files = readdirSync(negative).filter((name) => name.endsWith('.ts'));
  assert.ok(files.length >= 3, 'the negative cases are there');
  for (const name of files) {
    test(name, T, () => {
      const file = path.join(negative, name);
      const expected = expectedErrors(file);
      assert.ok(expected.length > 0, `${name} names no expected error`);
      const actual = found.filter((error) => error.file === path.relative(repoRoot, file));
      assert.deepEqual(actual, expected);
    });
  }
});

describe('a typed program against live servers', () => {
  let interopServer;
  let streamingServer;
  before(async () => {
    // The program's own code and the generated modules (their imports are types only) are
    // bundled; the npm packages are imported at run time from interop/node_modules.
    const require = createRequire(path.join(interop, 'package.json'));
    const fromInterop = {
      name: 'packages-from-interop',
      setup(build) {
        build.onResolve({ filter: /^@microsoft\// }, (args) => ({
          path: pathToFileURL(require.resolve(args.path)).href,
          external: true,
        }));
      },
    };
    await esbuild.build({
      entryPoints: [path.join(programs, 'live', 'json.ts'), path.join(programs, 'live', 'messagepack.ts')],
      outdir: out,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: 'inline',
      logLevel: 'warning',
      plugins: [fromInterop],
    });
    [interopServer, streamingServer] = await Promise.all([startServer('interop'), startServer('streaming')]);
  });
  after(async () => {
    await Promise.all([interopServer?.stop(), streamingServer?.stop()]);
  });

  for (const [protocol, forms] of [
    ['json', 'timestamps and binary as JSON delivers them'],
    ['messagepack', 'timestamps and binary as MessagePack delivers them'],
  ]) {
    test(`over ${protocol}`, T, async () => {
      const { run } = await import(pathToFileURL(path.join(out, `${protocol}.mjs`)).href);
      const checked = await run({
        test: `${interopServer.url}/hubs/test`,
        streaming: `${streamingServer.url}/hubs/streaming`,
      });
      assert.deepEqual(checked, [
        'typed calls',
        'typed receiver',
        'server streams',
        'uploads',
        'client result',
        forms,
      ]);
    });
  }
});
