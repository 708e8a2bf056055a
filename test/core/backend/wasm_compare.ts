/**
 * Test helpers: run the same computation on the cpu and wasm backends and compare the results.
 * Inputs are plain arrays built in the test, so each backend gets its own copy of the data.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { register } from 'node:module';
import { registerWasmTrainingKernels } from '../../../src/core/backend/wasm_training_kernels.js';
import { Rng } from '../../../src/core/random.js';
import { assertClose } from '../../helpers.js';
import assert from 'node:assert/strict';

export type BackendId = 'cpu' | 'wasm';

/**
 * Resolution hook for tfjs-core's ESM `dist/` tree, whose relative imports have no extension
 * (`'../ops/mul'`), which Node's ESM loader refuses; `./gradients` is both a file and a folder.
 */
const TFJS_DIST_RESOLVE_HOOK = `
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
export async function resolve(specifier, context, next) {
  const parent = context.parentURL ?? '';
  if (parent.includes('/@tensorflow/tfjs-core/dist/') && specifier.startsWith('.') &&
      !specifier.endsWith('.js')) {
    const file = new URL(specifier + '.js', parent);
    if (existsSync(fileURLToPath(file))) return next(file.href, context);
    return next(new URL(specifier + '/index.js', parent).href, context);
  }
  return next(specifier, context);
}`;

/**
 * Registers tfjs-core's gradient functions, which its Node bundle lacks. They live only in the
 * ESM tree (`dist/register_all_gradients.js`); the gradient and kernel registries and the engine
 * are process-global, so registering from that tree serves the Node bundle too.
 */
export async function ensureGradients(): Promise<void> {
  if (tf.getGradient('Conv2D')) return;
  register('data:text/javascript,' + encodeURIComponent(TFJS_DIST_RESOLVE_HOOK));
  await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
}

/** Registers gradients and the training kernels and initialises both backends. */
export async function initBothBackends(): Promise<void> {
  await ensureGradients();
  registerWasmTrainingKernels();
  for (const b of ['cpu', 'wasm'] as const) {
    assert.ok(await tf.setBackend(b), `backend ${b} failed to initialise`);
    await tf.ready();
  }
}

/** `n` uniform values in [-1, 1) from a seeded stream. */
export function randomValues(seed: number, n: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniformRange(-1, 1);
  return out;
}

/** A random tensor of `shape` (float32) built on the current backend. */
export function randomTensor(seed: number, shape: number[]): tf.Tensor {
  return tf.tensor(randomValues(seed, tf.util.sizeFromShape(shape)), shape);
}

export interface Result {
  shape: number[];
  values: Float32Array | Int32Array | Uint8Array;
}

/** Runs `fn` on `backend` inside tidy and downloads its outputs. */
export async function runOn(
  backend: BackendId,
  fn: () => tf.Tensor | tf.Tensor[],
): Promise<Result[]> {
  await tf.setBackend(backend);
  const out = tf.tidy(fn);
  const list = Array.isArray(out) ? out : [out];
  const results: Result[] = [];
  for (const t of list) {
    results.push({ shape: t.shape, values: (await t.data()) as Result['values'] });
    t.dispose();
  }
  return results;
}

/**
 * Runs `fn` on cpu and on wasm and asserts equal shapes and values within
 * `rtol` and an absolute tolerance of `atolScale · max|expected|`.
 */
export async function assertSameOnBothBackends(
  fn: () => tf.Tensor | tf.Tensor[],
  msg: string,
  rtol = 1e-4,
  atolScale = 1e-5,
): Promise<Result[]> {
  const expected = await runOn('cpu', fn);
  const actual = await runOn('wasm', fn);
  assert.equal(actual.length, expected.length, `${msg}: number of outputs`);
  for (let k = 0; k < expected.length; k++) {
    assert.deepEqual(actual[k].shape, expected[k].shape, `${msg}: shape of output ${k}`);
    let maxAbs = 0;
    for (const v of expected[k].values) maxAbs = Math.max(maxAbs, Math.abs(v));
    assertClose(actual[k].values, expected[k].values, {
      rtol,
      atol: atolScale * Math.max(maxAbs, 1e-6),
      msg: `${msg}: output ${k}`,
    });
  }
  return expected;
}
