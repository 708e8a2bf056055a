/** Layers inside a model: weight paths, counts, summary, seeded init, memory and gradients. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { Layer, type CallArgs, type StateUpdate } from '../../../src/core/layer.js';
import { Rng, setGlobalSeed } from '../../../src/core/random.js';
import {
  Activation,
  AvgPool2D,
  AvgPool3D,
  BatchNormalization,
  Conv2D,
  Conv3D,
  Dense,
  DepthwiseConv2D,
  Dropout,
  GlobalAveragePooling2D,
  GlobalAveragePooling3D,
  LayerNormalization,
  MaxPool2D,
  MaxPool3D,
  MultiHeadAttention,
  SqueezeExcitation,
  StochasticDepth,
} from '../../../src/modeling/layers/index.js';

await initBackend('cpu');

class Net extends Layer {
  private readonly conv1 = this.add(
    '_conv1',
    new Conv2D({ filters: 4, kernelSize: 3, padding: 'same' }),
  );
  private readonly norm1 = this.add('_norm1', new BatchNormalization());
  private readonly conv2 = this.add(
    '_conv2',
    new Conv2D({ filters: 6, kernelSize: 1, useBias: false, kernelInitializer: 'he_normal' }),
  );
  private readonly norm2 = this.add('_norm2', new BatchNormalization());

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    return tf.tidy(() => {
      const y = tf.relu(this.norm1.apply(this.conv1.apply(x, args), args));
      return this.norm2.apply(this.conv2.apply(y, args), args);
    });
  }
}

function build(seed: number): Net {
  setGlobalSeed(seed);
  const net = new Net();
  const x = tf.ones([1, 5, 5, 3]);
  net.apply(x).dispose();
  x.dispose();
  setGlobalSeed(0);
  return net;
}

test('Keras variable paths and object paths of a small model', () => {
  const net = build(1);
  assert.deepEqual(
    net.weights().map((w) => [w.path, w.objectPath]),
    [
      ['net/conv2d/kernel', '_conv1/kernel'],
      ['net/conv2d/bias', '_conv1/bias'],
      ['net/batch_normalization/gamma', '_norm1/gamma'],
      ['net/batch_normalization/beta', '_norm1/beta'],
      ['net/batch_normalization/moving_mean', '_norm1/moving_mean'],
      ['net/batch_normalization/moving_variance', '_norm1/moving_variance'],
      ['net/conv2d_1/kernel', '_conv2/kernel'],
      ['net/batch_normalization_1/gamma', '_norm2/gamma'],
      ['net/batch_normalization_1/beta', '_norm2/beta'],
      ['net/batch_normalization_1/moving_mean', '_norm2/moving_mean'],
      ['net/batch_normalization_1/moving_variance', '_norm2/moving_variance'],
    ],
  );
  // conv1 3*3*3*4 + 4, bn1 4*4, conv2 4*6, bn2 6*4
  assert.equal(net.countParams(), 112 + 16 + 24 + 24);
  assert.equal(net.countTrainableParams(), 112 + 8 + 24 + 12);
  assert.deepEqual(
    net
      .weights()
      .filter((w) => w.regularize)
      .map((w) => w.path),
    ['net/conv2d/kernel', 'net/conv2d_1/kernel'],
  );
  const summary = net.summary();
  for (const row of [
    /net \(Net\)\s+176/,
    /conv2d \(Conv2D\)\s+kernel\[3,3,3,4\] bias\[4\]\s+112/,
    /batch_normalization \(BatchNormalization\)\s+gamma\[4\] beta\[4\] moving_mean\[4\] moving_variance\[4\]\s+16/,
    /conv2d_1 \(Conv2D\)\s+kernel\[1,1,4,6\]\s+24/,
    /Total params: 176/,
    /Non-trainable params: 20/,
  ]) {
    assert.match(summary, row);
  }
  net.dispose();
});

test('initial weights are reproducible from the global seed', () => {
  const a = build(7);
  const b = build(7);
  const c = build(8);
  const values = (n: Net) => n.weights().map((w) => Array.from(w.variable.dataSync()));
  assert.deepEqual(values(a), values(b));
  const [ka, kc] = [values(a)[0], values(c)[0]];
  assert.notDeepEqual(ka, kc);
  for (const n of [a, b, c]) n.dispose();
});

test('calling layers repeatedly inside tidy leaves no tensors behind', () => {
  const net = build(2);
  const x = tf.ones([2, 5, 5, 3]);
  net.apply(x).dispose();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 50; i++) {
    tf.tidy(() => {
      net.apply(x);
    });
  }
  assert.equal(tf.memory().numTensors, before);
  // Training with collected updates: the kept values are the only new tensors.
  const updates: StateUpdate[] = [];
  for (let i = 0; i < 50; i++) {
    tf.tidy(() => {
      net.apply(x, { training: true, stateUpdates: updates });
    });
  }
  assert.equal(tf.memory().numTensors, before + updates.length);
  tf.dispose(updates.map((u) => u.value));
  // Training with direct assignment: variables are replaced, not accumulated.
  for (let i = 0; i < 50; i++) {
    tf.tidy(() => {
      net.apply(x, { training: true });
    });
  }
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  net.dispose();
});

interface Case {
  name: string;
  layer: Layer<tf.Tensor, tf.Tensor>;
  shape: number[];
}

test('gradients reach every trainable weight and the input of every layer', () => {
  const cases: Case[] = [
    {
      name: 'conv2d',
      layer: new Conv2D({ filters: 2, kernelSize: 3, strides: 2, padding: 'same' }),
      shape: [1, 6, 6, 2],
    },
    {
      name: 'conv2d dilated',
      layer: new Conv2D({ filters: 2, kernelSize: 3, dilationRate: 2, padding: 'same' }),
      shape: [1, 6, 6, 2],
    },
    {
      name: 'depthwise',
      layer: new DepthwiseConv2D({ kernelSize: 3, strides: 2, padding: 'same' }),
      shape: [1, 6, 6, 2],
    },
    {
      name: 'depthwise dilated',
      layer: new DepthwiseConv2D({ kernelSize: 3, dilationRate: 2, padding: 'same' }),
      shape: [1, 6, 6, 2],
    },
    {
      name: 'conv3d',
      layer: new Conv3D({ filters: 2, kernelSize: 3, strides: 2, padding: 'same' }),
      shape: [1, 4, 4, 4, 2],
    },
    {
      name: 'conv3d dilated',
      layer: new Conv3D({ filters: 2, kernelSize: 2, dilationRate: 2, padding: 'same' }),
      shape: [1, 4, 4, 4, 2],
    },
    { name: 'dense', layer: new Dense({ units: 3, activation: 'gelu' }), shape: [2, 3, 4] },
    { name: 'batch norm', layer: new BatchNormalization(), shape: [4, 2, 2, 3] },
    { name: 'layer norm', layer: new LayerNormalization(), shape: [2, 3, 4] },
    { name: 'activation', layer: new Activation({ activation: 'hard_swish' }), shape: [2, 3] },
    { name: 'dropout', layer: new Dropout({ rate: 0.5 }), shape: [4, 8] },
    {
      name: 'stochastic depth',
      layer: new StochasticDepth({ dropRate: 0.2 }),
      shape: [8, 2, 2, 1],
    },
    {
      name: 'max pool',
      layer: new MaxPool2D({ poolSize: 3, strides: 2, padding: 'same' }),
      shape: [1, 5, 5, 2],
    },
    { name: 'avg pool', layer: new AvgPool2D({ padding: 'same' }), shape: [1, 5, 5, 2] },
    { name: 'max pool 3d', layer: new MaxPool3D({ padding: 'same' }), shape: [1, 3, 3, 3, 2] },
    { name: 'avg pool 3d', layer: new AvgPool3D(), shape: [1, 4, 4, 4, 2] },
    { name: 'global avg', layer: new GlobalAveragePooling2D(), shape: [2, 3, 3, 4] },
    { name: 'global avg 3d', layer: new GlobalAveragePooling3D(), shape: [2, 2, 3, 3, 4] },
    {
      name: 'squeeze excitation',
      layer: new SqueezeExcitation({ inFilters: 4, outFilters: 4, seRatio: 0.5 }),
      shape: [2, 3, 3, 4],
    },
  ];
  const rng = new Rng(9);
  for (const c of cases) {
    const x = tf.tensor(
      Float32Array.from({ length: c.shape.reduce((a, b) => a * b, 1) }, () =>
        rng.uniformRange(-1, 1),
      ),
      c.shape,
    );
    const args: CallArgs = { training: true, rng: new Rng(2), stateUpdates: [] };
    c.layer.apply(x, args);
    const vars = c.layer.trainableWeights().map((w) => w.variable);
    const { value, grads } = vars.length
      ? tf.variableGrads(() => tf.sum(tf.square(c.layer.apply(x, args))) as tf.Scalar, vars)
      : { value: tf.scalar(0), grads: {} as tf.NamedTensorMap };
    for (const v of vars) {
      const g = grads[v.name];
      assert.ok(g, `${c.name}: gradient for ${v.name}`);
      assert.ok(
        tf.any(tf.notEqual(g, 0)).dataSync()[0],
        `${c.name}: gradient of ${v.name} is zero`,
      );
    }
    const gx = tf.grad((t: tf.Tensor) => tf.sum(tf.square(c.layer.apply(t, args))))(x);
    assert.deepEqual(gx.shape, x.shape, c.name);
    assert.ok(Array.from(gx.dataSync()).every(Number.isFinite), `${c.name}: finite input gradient`);
    assert.ok(tf.any(tf.notEqual(gx, 0)).dataSync()[0], `${c.name}: input gradient is zero`);
    tf.dispose([
      x,
      value,
      gx,
      ...Object.values(grads),
      ...(args.stateUpdates ?? []).map((u) => u.value),
    ]);
  }
  const mha = new MultiHeadAttention({ numHeads: 2, keyDim: 2, dropout: 0.1 });
  const q = tf.randomNormal([1, 3, 4], 0, 1, 'float32', 1);
  const args = { training: true, rng: new Rng(3) };
  mha.apply({ query: q, value: q }, args).dispose();
  const vars = mha.trainableWeights().map((w) => w.variable);
  assert.equal(vars.length, 8);
  const { grads } = tf.variableGrads(
    () => tf.sum(tf.square(mha.apply({ query: q, value: q }, args))) as tf.Scalar,
    vars,
  );
  for (const v of vars) assert.ok(grads[v.name], `mha gradient ${v.name}`);
  tf.dispose([q, ...Object.values(grads)]);
});
