/**
 * Gradients registered in src/core/gradients.ts, against hand derivations. Cumsum: for
 * loss = Σ w · cumsum(x, axis), d loss / d x[j] = Σ_i w[i] over the outputs i that sum x[j]
 * (i ≥ j forward, i ≤ j reversed; strictly when exclusive) — computed here with plain loops.
 */
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/index.js';
import { assertClose } from '../helpers.js';

await initBackend('cpu');

test('Cumsum gradient along a middle axis (all four flag pairs) equals the hand derivation', () => {
  const [B, T, C] = [2, 4, 3];
  const x = tf.randomNormal([B, T, C], 0, 1, 'float32', 1);
  const w = tf.randomNormal([B, T, C], 0, 1, 'float32', 2);
  const wv = w.dataSync();
  for (const exclusive of [false, true]) {
    for (const reverse of [false, true]) {
      const grad = tf.grad((a: tf.Tensor) =>
        tf.sum(tf.mul(tf.cumsum(a, 1, exclusive, reverse), w)),
      )(x);
      const want = new Float32Array(B * T * C);
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < T; j++) {
          for (let c = 0; c < C; c++) {
            let sum = 0;
            for (let i = 0; i < T; i++) {
              const reads = reverse ? (exclusive ? i < j : i <= j) : exclusive ? i > j : i >= j;
              if (reads) sum += wv[(b * T + i) * C + c];
            }
            want[(b * T + j) * C + c] = sum;
          }
        }
      }
      assertClose(grad.dataSync(), want, {
        atol: 1e-5,
        rtol: 0,
        msg: `exclusive=${exclusive} reverse=${reverse}`,
      });
      grad.dispose();
    }
  }
  tf.dispose([x, w]);
});
