import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { InvertedBottleneckBlock } from '../../../src/modeling/blocks/inverted_bottleneck_block.js';
import { assertClose } from '../../helpers.js';

await initBackend('cpu');

function assign(block: InvertedBottleneckBlock, objectPath: string, values: number[]): void {
  const w = block.weights().find((x) => x.objectPath === objectPath);
  assert.ok(w, objectPath);
  w.variable.assign(tf.tensor(values, w.variable.shape));
}

test('inverted bottleneck: expand, depthwise, project, residual (hand-computed)', () => {
  const block = new InvertedBottleneckBlock({
    inFilters: 1,
    outFilters: 1,
    expandRatio: 2,
    strides: 1,
    kernelSize: 1,
    activation: 'relu',
  });
  const x = tf.tensor4d([1, -2], [1, 1, 2, 1]);
  tf.dispose(block.apply(x));
  assign(block, '_conv0/kernel', [1, -1]);
  assign(block, '_conv1/depthwise_kernel', [2, 3]);
  assign(block, '_conv2/kernel', [1, 1]);
  const y = block.apply(x);
  // BN at initialisation (gamma 1, beta 0, mean 0, variance 1) scales by s = 1/sqrt(1 + 0.001).
  // x = 1: expand [s, -s] → relu [s, 0] → dw [2s, 0]·s → project 2s²·s → + 1.
  // x = -2: expand [-2s, 2s] → relu [0, 2s] → dw [0, 6s]·s → project 6s²·s → − 2.
  const s = 1 / Math.sqrt(1.001);
  assertClose(y.dataSync(), [1 + 2 * s ** 3, -2 + 6 * s ** 3], { atol: 1e-6 });
  assert.deepEqual(
    block.weights().map((w) => w.objectPath.split('/')[0]),
    [
      ...Array<string>(5).fill('_conv0').fill('_norm0', 1),
      ...Array<string>(5).fill('_conv1').fill('_norm1', 1),
      ...Array<string>(5).fill('_conv2').fill('_norm2', 1),
    ],
  );
  tf.dispose([x, y]);
  block.dispose();
});

test('inverted bottleneck: SE sized from in_filters on the expanded width; no residual across widths or strides', () => {
  const block = new InvertedBottleneckBlock({
    inFilters: 8,
    outFilters: 16,
    expandRatio: 6,
    strides: 2,
    seRatio: 0.2,
    seGatingActivation: 'hard_sigmoid',
    activation: 'hard_swish',
  });
  const x = tf.randomNormal([1, 8, 8, 8], 0, 1, 'float32', 3);
  const y = block.apply(x);
  assert.deepEqual(y.shape, [1, 4, 4, 16]);
  const shapes = Object.fromEntries(block.weights().map((w) => [w.objectPath, w.variable.shape]));
  // Model Garden: reduce = max(1, int(8 · 0.2)) = 1 channel, on the 48 expanded channels.
  assert.deepEqual(shapes['_squeeze_excitation/_se_reduce/kernel'], [1, 1, 48, 1]);
  assert.deepEqual(shapes['_squeeze_excitation/_se_expand/kernel'], [1, 1, 1, 48]);
  assert.deepEqual(shapes['_conv1/depthwise_kernel'], [3, 3, 48, 1]);
  tf.dispose([x, y]);
  block.dispose();

  // Same width and stride 1: a zeroed last BN leaves exactly the shortcut; expand_ratio 1 has no _conv0.
  const same = new InvertedBottleneckBlock({
    inFilters: 4,
    outFilters: 4,
    expandRatio: 1,
    strides: 1,
  });
  const z = tf.randomNormal([2, 3, 3, 4], 0, 1, 'float32', 4);
  tf.dispose(same.apply(z));
  assign(same, '_norm2/gamma', [0, 0, 0, 0]);
  const out = same.apply(z);
  assertClose(out.dataSync(), z.dataSync(), { atol: 0 });
  assert.ok(!same.weights().some((w) => w.objectPath.startsWith('_conv0')));
  tf.dispose([z, out]);
  same.dispose();
});
