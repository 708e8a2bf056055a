/**
 * Shared pieces of the engine tests: seeded normal tensors (src/core/random.ts streams, so runs
 * repeat) and the compile-run-compare check of a tensor function against its eager run.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../src/core/random.js';
import { compileFunction } from '../../src/engine/compile.js';
import { assertClose } from '../helpers.js';

/** A tensor of `shape` with standard-normal values from the stream of `seed`. */
export function normal(shape: number[], seed: number): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rng.normal()),
    shape,
  );
}

export type TensorFn = (i: Record<string, tf.Tensor>) => tf.Tensor[];

export interface CompareOptions {
  /** Relative tolerance per element (default 1e-4). */
  rtol?: number;
  /** Absolute tolerance per element (default 1e-5). */
  atol?: number;
  /**
   * Scale `atol` by each output's largest magnitude (when above 1): for outputs such as
   * batch-norm gradients, whose smallest entries sit far below their largest and carry float32
   * rounding of that scale.
   */
  atolOfScale?: boolean;
}

/**
 * Compiles `fn`, runs it on ORT and asserts every output equals the eager result; returns the
 * graph's op types and model bytes. `name` labels the failures.
 */
export async function assertCompiledMatches(
  name: string,
  inputs: Record<string, tf.Tensor>,
  fn: TensorFn,
  opts: CompareOptions = {},
): Promise<{ opTypes: string[]; model: Uint8Array }> {
  const compiled = await compileFunction(inputs, fn, { intraOpNumThreads: 1 });
  const got = await compiled.run(inputs);
  const want = fn(inputs);
  assert.equal(got.length, want.length, `${name}: output count`);
  got.forEach((g, k) => {
    assert.deepEqual(g.shape, want[k].shape, `${name}: output ${k} shape`);
    const reference = want[k].dataSync();
    let scale = 1;
    if (opts.atolOfScale) for (const v of reference) scale = Math.max(scale, Math.abs(v));
    assertClose(g.dataSync(), reference, {
      rtol: opts.rtol ?? 1e-4,
      atol: (opts.atol ?? 1e-5) * scale,
      msg: `${name}: output ${k}`,
    });
  });
  tf.dispose([...got, ...want]);
  await compiled.dispose();
  return { opTypes: compiled.opTypes, model: compiled.model };
}
