/**
 * The engine's default runtime in Node (src/engine/node_runtime.ts): onnxruntime-node when it is
 * installed, else onnxruntime-web's Node build; `VG_ORT_RUNTIME` forces one. The choice is made
 * when the module loads, so each case runs in a child process: a compiled function equals the
 * eager one on the forced web runtime, and a bad value is refused with a message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../helpers.js';

const here = (p: string) => pathToFileURL(join(REPO_ROOT, 'dist/src', p)).href;

const CHILD = `
import * as tf from '@tensorflow/tfjs-core';
const { initBackend } = await import(${JSON.stringify(here('core/backend/index.js'))});
const { compileModel } = await import(${JSON.stringify(here('engine/compile_model.js'))});
const { nodeRuntimeName } = await import(${JSON.stringify(here('engine/node_runtime.js'))});
await initBackend('cpu');
const fn = (x) => ({ y: tf.sum(tf.relu(tf.matMul(x.a, x.b)), 1) });
const a = tf.tensor2d([[1, -2, 3], [0.5, 4, -1]]);
const b = tf.tensor2d([[2, 1], [-1, 0.25], [3, -3]]);
const m = await compileModel(fn, { a, b }, { fallback: 'error' });
const got = await (await m.run({ a, b })).y.data();
const want = await fn({ a, b }).y.data();
console.log(JSON.stringify({ name: nodeRuntimeName, got: [...got], want: [...want] }));
`;

function child(env: Record<string, string>) {
  return spawnSync(process.execPath, ['--input-type=module', '-e', CHILD], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
}

test('VG_ORT_RUNTIME=web: the engine runs on onnxruntime-web in Node, equal to eager', () => {
  const r = child({ VG_ORT_RUNTIME: 'web' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    name: string;
    got: number[];
    want: number[];
  };
  assert.equal(out.name, 'onnxruntime-web');
  // a·b = [[13, -8.5], [-6, 4.5]] by hand; relu, then summed per row: [13, 4.5].
  assert.deepEqual(out.want, [13, 4.5]);
  out.got.forEach((g, i) => assert.ok(Math.abs(g - out.want[i]) <= 1e-5, `${g} vs ${out.want[i]}`));
});

test('without VG_ORT_RUNTIME the installed onnxruntime-node is used; a bad value is refused', () => {
  const r = child({ VG_ORT_RUNTIME: '' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim().split('\n').pop()!).name, 'onnxruntime-node');
  const bad = child({ VG_ORT_RUNTIME: 'gpu' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /VG_ORT_RUNTIME must be 'node' or 'web', got 'gpu'/);
});
