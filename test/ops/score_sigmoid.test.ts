/**
 * scoreSigmoid against TensorFlow 2.21's float32 sigmoid (the tool that made the Model Garden
 * reference fixtures), measured: exactly 1 from 16.635532 (float32 bits 0x41851592) up, 1 − 2⁻²⁴
 * for the float32 just below; elsewhere the ordinary sigmoid.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/index.js';
import { scoreSigmoid, TF_SIGMOID_ONE } from '../../src/ops/score_sigmoid.js';
import { assertClose } from '../helpers.js';

await initBackend('cpu');

test('1 from the float32 where TF saturates, the sigmoid below it', () => {
  const bits = new Uint32Array(new Float32Array([TF_SIGMOID_ONE]).buffer)[0];
  assert.equal(bits, 0x41851592);
  const below = new Float32Array(new Uint32Array([bits - 1]).buffer)[0];
  const x = tf.tensor1d([below, TF_SIGMOID_ONE, 17, 17.3, 40, 0, -3, 2.5]);
  const y = scoreSigmoid(x).dataSync();
  const nearOne = Math.fround(1 - 2 ** -24);
  assert.deepEqual(Array.from(y.slice(0, 5)), [nearOne, 1, 1, 1, 1]);
  // The plain sigmoid is not yet 1 at 17 and 17.3.
  assert.deepEqual(Array.from(tf.sigmoid(x).dataSync().slice(2, 4)), [nearOne, nearOne]);
  assertClose(
    y.slice(5),
    [0, -3, 2.5].map((v) => 1 / (1 + Math.exp(-v))),
    { rtol: 1e-6, atol: 0 },
  );
  x.dispose();
});
