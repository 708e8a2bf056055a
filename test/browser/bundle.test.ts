/**
 * The browser entry (package.json `exports` condition `browser`, src/browser.ts) bundles for the
 * browser without reaching Node: esbuild with `platform: 'browser'` applies package.json
 * `browser` (each Node-only module -> its `*.browser.ts` twin), and the build fails here if any
 * module of ours imports a Node built-in or a Node-only package, or a dependency imports a
 * built-in its own `browser` field does not map away. The twins must stay twins: each maps from
 * its Node module, and both export the same names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import * as esbuild from 'esbuild';
import { REPO_ROOT } from '../helpers.js';

const NODE_ONLY_PACKAGES = [
  'sharp',
  'koffi',
  'onnxruntime-node',
  'h5wasm',
  '@tensorflow/tfjs-node',
  'playwright-core',
];

function isBuiltin(spec: string): boolean {
  return spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0]);
}

function packageOf(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

interface Reach {
  spec: string;
  importer: string;
}

/** Bundles `entry` for the browser; returns what it reached that only Node has, and the inputs. */
async function bundleForBrowser(entry: string): Promise<{ bad: Reach[]; inputs: string[] }> {
  const bad: Reach[] = [];
  const result = await esbuild.build({
    entryPoints: [join(REPO_ROOT, entry)],
    absWorkingDir: REPO_ROOT,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    splitting: true,
    outdir: 'out',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [
      {
        name: 'node-reach',
        setup(build) {
          build.onResolve({ filter: /.*/ }, (args) => {
            const fromDependency = args.importer.includes('/node_modules/');
            const nodeOnly =
              (isBuiltin(args.path) && !fromDependency) ||
              NODE_ONLY_PACKAGES.includes(packageOf(args.path));
            if (!nodeOnly) return undefined;
            bad.push({ spec: args.path, importer: relative(REPO_ROOT, args.importer) });
            return { path: args.path, external: true };
          });
        },
      },
    ],
  });
  return { bad, inputs: Object.keys(result.metafile.inputs) };
}

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, string | Record<string, string>>;
  browser: Record<string, string>;
};

test('package.json: the browser condition of "." is the browser entry', () => {
  const root = pkg.exports['.'] as Record<string, string>;
  assert.equal(root.browser, './dist/src/browser.js');
  assert.equal(root.default, './dist/src/index.js');
});

test('the browser entry bundles for the browser without reaching any Node-only module', async () => {
  const { bad, inputs } = await bundleForBrowser('dist/src/browser.js');
  assert.deepEqual(
    bad.map((b) => `${b.spec} <- ${b.importer}`),
    [],
    'Node-only imports reached from the browser entry',
  );
  // The twins replaced their Node modules (the image decoder is reached through predict).
  assert.ok(inputs.includes('dist/src/data/decoders/image.browser.js'));
  assert.ok(!inputs.includes('dist/src/data/decoders/image.js'));
  assert.ok(inputs.some((f) => f.includes('node_modules/@tensorflow/tfjs-core/')));
});

test('the check fails on Node-only imports: the Node entry (training, serving) reaches them', async () => {
  // The Node entry bundled the same way reaches the file system (checkpoints), the HTTP server
  // and the Keras reader's h5wasm build for Node: the check above is not vacuous.
  const { bad } = await bundleForBrowser('dist/src/index.js');
  const specs = new Set(bad.map((b) => packageOf(b.spec.replace(/^node:/, ''))));
  for (const s of ['fs', 'http', 'h5wasm']) {
    assert.ok(specs.has(s), `expected the Node entry to reach '${s}'`);
  }
});

function twinsOnDisk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) twinsOnDisk(p, out);
    else if (e.name.endsWith('.browser.ts')) out.push(p);
  }
  return out;
}

/** Export names of one module (esbuild's metafile, the module alone). */
async function exportNames(file: string): Promise<string[]> {
  const r = await esbuild.build({
    entryPoints: [join(REPO_ROOT, file)],
    bundle: false,
    format: 'esm',
    write: false,
    metafile: true,
    outdir: 'out',
    logLevel: 'silent',
  });
  return Object.values(r.metafile.outputs)
    .flatMap((o) => o.exports)
    .sort();
}

test('every *.browser.ts twin is mapped in package.json `browser` and exports what its Node module does', async () => {
  const twins = twinsOnDisk('src').sort();
  const mapped = Object.entries(pkg.browser)
    .map(([from, to]) => {
      assert.equal(to, from.replace(/\.js$/, '.browser.js'), `browser mapping of ${from}`);
      return to.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts');
    })
    .sort();
  assert.deepEqual(mapped, twins);
  for (const twin of twins) {
    const node = twin.replace(/\.browser\.ts$/, '.ts');
    const want = await exportNames(node);
    const have = await exportNames(twin);
    // The Node runtime's twin exports nothing: importing it fails with the message to pass one.
    if (twin.endsWith('engine/node_runtime.browser.ts')) assert.deepEqual(have, []);
    else assert.deepEqual(have, want, `exports of ${twin} vs ${node}`);
  }
});
