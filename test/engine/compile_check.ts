/** Seeded normal tensors for the engine tests (src/core/random.ts streams, so runs repeat). */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../src/core/random.js';

/** A tensor of `shape` with standard-normal values from the stream of `seed`. */
export function normal(shape: number[], seed: number): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rng.normal()),
    shape,
  );
}
