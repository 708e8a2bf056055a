/**
 * The stream layers of MoViNet against hand-computed values (Model Garden nn_layers.py
 * `GlobalAveragePool3D`, `PositionalEncoding`; movinet_layers.py `StreamBuffer`), and the
 * MoViNet-A0 endpoint shapes that official/projects/movinet/modeling/movinet_test.py asserts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { withShapeOnlyBuild } from '../../../src/core/layer.js';
import { Movinet } from '../../../src/modeling/backbones/movinet.js';
import {
  GlobalAveragePool3D,
  PositionalEncoding,
  streamBuffer,
} from '../../../src/modeling/layers/stream_layers.js';
import { assertClose } from '../../helpers.js';

await initBackend('cpu');

/** [1, T, 1, 2, 1] clip whose frame t has pixels (a_t, b_t). */
const clip = (pixels: [number, number][]) => tf.tensor(pixels.flat(), [1, pixels.length, 1, 2, 1]);

test('causal GlobalAveragePool3D: cumulative means per frame, continued across calls', () => {
  const pool = new GlobalAveragePool3D({ causal: true, statePrefix: 's' });
  // Frame means 2, 4, 9; cumulative means 2, 3, 5.
  const first = pool.apply({
    x: clip([
      [1, 3],
      [2, 6],
    ]),
    states: {},
  });
  assertClose(first.x.dataSync(), [2, 3]);
  assert.deepEqual([...first.states.s_pool_frame_count.dataSync()], [2]);
  assertClose(first.states.s_pool_buffer.dataSync(), [6]);
  const second = pool.apply({ x: clip([[8, 10]]), states: first.states });
  assertClose(second.x.dataSync(), [5]);
  assert.equal(second.states.s_pool_frame_count.dtype, 'int32');
});

test('non-causal GlobalAveragePool3D: one mean over the clip, and over every call so far', () => {
  const pool = new GlobalAveragePool3D({ causal: false, statePrefix: 'h' });
  const first = pool.apply({
    x: clip([
      [1, 3],
      [2, 6],
    ]),
    states: {},
  });
  assert.deepEqual(first.x.shape, [1, 1, 1, 1, 1]);
  assertClose(first.x.dataSync(), [3]);
  const second = pool.apply({ x: clip([[8, 10]]), states: first.states });
  assertClose(second.x.dataSync(), [5]);
});

test('PositionalEncoding: sin of even, cos of odd angles, from the frame count, times ReZero', () => {
  const pe = new PositionalEncoding({ statePrefix: 'p' });
  const x = tf.zeros([1, 2, 1, 1, 4]);
  const states = { p_pos_enc_frame_count: tf.tensor1d([3], 'int32') };
  pe.apply({ x, states }); // builds
  for (const w of pe.weights()) w.variable.assign(tf.scalar(2));
  const out = pe.apply({ x, states });
  // C = 4: angles 1, 1, 1e-2, 1e-2; channels [sin(p), sin(p/100), cos(p), cos(p/100)], p = 3, 4.
  const want = [3, 4].flatMap((p) => [
    Math.sin(p),
    Math.sin(p / 100),
    Math.cos(p),
    Math.cos(p / 100),
  ]);
  assertClose(
    out.x.dataSync(),
    want.map((v) => 2 * v),
  );
  assert.deepEqual([...out.states.p_pos_enc_frame_count.dataSync()], [5]);
});

test('streamBuffer: zeros first, then the last frames of the previous call', () => {
  const first = streamBuffer(
    clip([
      [1, 1],
      [2, 2],
      [3, 3],
    ]),
    {},
    'b',
    2,
  );
  assertClose(first.x.dataSync(), [0, 0, 0, 0, 1, 1, 2, 2, 3, 3]);
  const second = streamBuffer(clip([[4, 4]]), first.states, 'b', 2);
  assertClose(second.x.dataSync(), [2, 2, 3, 3, 4, 4]);
  assertClose(second.states.b.dataSync(), [3, 3, 4, 4]);
});

test("MoViNet-A0 causal endpoint shapes on 8×128×128 as movinet_test.py's", () => {
  const net = new Movinet({ modelId: 'a0', causal: true });
  const shapes = withShapeOnlyBuild(() =>
    tf.tidy(() => {
      const { endpoints } = net.apply({ image: tf.zeros([1, 8, 128, 128, 3]) });
      return Object.fromEntries(Object.entries(endpoints).map(([k, v]) => [k, v.shape]));
    }),
  );
  assert.deepEqual(shapes.stem, [1, 8, 64, 64, 8]);
  assert.deepEqual(shapes.block0_layer0, [1, 8, 32, 32, 8]);
  assert.deepEqual(shapes.block1_layer2, [1, 8, 16, 16, 32]);
  assert.deepEqual(shapes.block2_layer2, [1, 8, 8, 8, 56]);
  assert.deepEqual(shapes.block3_layer3, [1, 8, 8, 8, 56]);
  assert.deepEqual(shapes.block4_layer3, [1, 8, 4, 4, 104]);
  assert.deepEqual(shapes.head, [1, 1, 1, 1, 480]);
  net.dispose();
});
