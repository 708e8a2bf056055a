/**
 * Test helpers: run the same computation on the cpu and wasm backends and compare the results.
 * Inputs are plain arrays built in the test, so each backend gets its own copy of the data.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { Rng } from '../../../src/core/random.js';
import { assertClose } from '../../helpers.js';
import assert from 'node:assert/strict';

export type BackendId = 'cpu' | 'wasm';

/** Initialises both backends through the one backend module (gradients + wasm training kernels). */
export async function initBothBackends(): Promise<void> {
  await initBackend('wasm');
  await initBackend('cpu');
  assert.ok(tf.findBackend('wasm') && tf.findBackend('cpu'), 'both backends initialised');
}

/** Gradients of <f(a, b), w> for random a, b and a random weighting w of the output. */
export function grads2(f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, sa: number[], sb: number[]) {
  return () => {
    const a = randomTensor(1, sa);
    const b = randomTensor(2, sb);
    const w = randomTensor(3, f(a, b).shape);
    return tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(f(p, q), w)))([a, b]);
  };
}

/** Gradient of <f(a), w> for a random a and a random weighting w of the output. */
export function grad1(f: (a: tf.Tensor) => tf.Tensor, sa: number[]) {
  return () => {
    const a = randomTensor(1, sa);
    const w = randomTensor(3, f(a).shape);
    return tf.grad((p: tf.Tensor) => tf.sum(tf.mul(f(p), w)))(a);
  };
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
