/**
 * Keras 3 `.weights.h5` onto our layers by rule, against the tf-checkpoint fixture: the mapping must
 * give each dataset the Keras path that weights_h5_layout.json (h5py, with the Keras model at hand)
 * records for it, and the loaded model TF's logits to 1e-4; a model of another width is one error
 * with the table, assigning nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { kerasH5Source } from '../../../src/interop/keras/h5_source.js';
import { loadWeights } from '../../../src/interop/load.js';
import { readNpy } from '../../../src/interop/numpy.js';
import { tensorMapSource } from '../../../src/interop/checkpoint_source.js';
import { Layer, type CallArgs } from '../../../src/core/layer.js';
import { Conv2D } from '../../../src/modeling/layers/conv.js';
import { Dense } from '../../../src/modeling/layers/dense.js';
import { BatchNormalization } from '../../../src/modeling/layers/normalization.js';
import { kerasSnakeCase } from '../../../src/interop/weight_map.js';
import { openCheckpointSource } from '../../../src/train/open_checkpoint.js';
import { sharedData } from '../../helpers.js';
import { assertFixtureLogits, SmallResNet } from '../small_resnet.js';

await initBackend('cpu');

const H5 = sharedData('tf-checkpoint', 'model.weights.h5');

function builtModel(widths?: [number, number, number]) {
  const model = new SmallResNet(widths);
  const x = readNpy(sharedData('tf-checkpoint', 'input.npy'));
  const input = tf.tensor(x.data as Float32Array, x.shape);
  tf.tidy(() => void model.apply(input));
  return { model, input };
}

test('Keras class names as Keras 3 writes container items', () => {
  // Default Keras layer names, which are the snake_case class names.
  assert.equal(kerasSnakeCase('Conv2D'), 'conv2d');
  assert.equal(kerasSnakeCase('BatchNormalization'), 'batch_normalization');
  assert.equal(kerasSnakeCase('GlobalAveragePooling2D'), 'global_average_pooling2d');
  assert.equal(kerasSnakeCase('DepthwiseConv2D'), 'depthwise_conv2d');
  assert.equal(kerasSnakeCase('Conv2DTranspose'), 'conv2d_transpose');
  assert.equal(kerasSnakeCase('ReLU'), 're_lu');
});

test('model.weights.h5 maps as weights_h5_layout.json and reproduces TF’s logits', async () => {
  const layout = JSON.parse(
    readFileSync(sharedData('tf-checkpoint', 'weights_h5_layout.json'), 'utf8'),
  ) as { path: string; keras_path: string }[];
  const { model, input } = builtModel();
  // Through the one place checkpoints are opened: the extension picks the Keras reader.
  const source = await openCheckpointSource(H5);
  try {
    assert.equal(source.by, 'keras3');
    const { loaded, report } = loadWeights(model, source);
    assert.equal(loaded, layout.length);
    const got = new Map(report.matched.map((m) => [m.key, m.weight.path]));
    for (const e of layout) assert.equal(got.get(e.path), e.keras_path, e.path);
  } finally {
    source.close();
  }
  assertFixtureLogits(model, input);
  input.dispose();
  model.dispose();
});

test('a model of another width is one error with the table, and assigns nothing', async () => {
  const { model, input } = builtModel([8, 32, 64]);
  const before = model.weights().map((w) => w.variable.dataSync().slice());
  const source = await kerasH5Source(H5);
  try {
    assert.throws(
      () => loadWeights(model, source),
      (e: Error) =>
        /^cannot load .*model\.weights\.h5 into small_resnet:\n30 matched, 0 missing, 17 shape\/dtype mismatched, 0 unmatched/.test(
          e.message,
        ) &&
        /shape\/dtype +small_resnet\/conv2d\/kernel +layers\/conv2d\/vars\/0 +float32\[3,3,3,8\] +float32\[3,3,3,16\]/.test(
          e.message,
        ) &&
        /shape\/dtype +small_resnet\/block_group_1\/conv2d\/kernel +layers\/residual_block_1\/_conv1\/vars\/0 +float32\[3,3,8,32\] +float32\[3,3,16,32\]/.test(
          e.message,
        ),
    );
    model.weights().forEach((w, i) => assert.deepEqual(w.variable.dataSync(), before[i], w.path));
  } finally {
    source.close();
    input.dispose();
    model.dispose();
  }
});

test('a file that is not a Keras 3 weights file is refused by name', async () => {
  // A Keras 2 / legacy layout (`<layer>/<layer>/<weight>:0`), written here with h5wasm.
  const dir = mkdtempSync(join(tmpdir(), 'vg-h5-'));
  const legacy = join(dir, 'legacy.weights.h5');
  try {
    await h5wasm.ready;
    const f = new h5wasm.File(legacy, 'w');
    f.create_group('dense');
    (f.get('dense') as InstanceType<typeof h5wasm.Group>).create_group('dense');
    (f.get('dense/dense') as InstanceType<typeof h5wasm.Group>).create_dataset({
      name: 'kernel:0',
      data: new Float32Array([1, 2]),
      shape: [2],
    });
    f.close();
    await assert.rejects(
      openCheckpointSource(legacy),
      /legacy\.weights\.h5: not a Keras 3 weights file \(no 'vars\/<i>' datasets; Keras 2/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(
    openCheckpointSource('/nonexistent/x.weights.h5'),
    /x\.weights\.h5 not found/,
  );
  await assert.rejects(
    kerasH5Source(sharedData('tf-checkpoint', 'input.npy')),
    /input\.npy: not an HDF5 file/,
  );
});

class Inner extends Layer<tf.Tensor, tf.Tensor> {
  private readonly convs = [
    this.add('_convs/0', new Conv2D({ filters: 2, kernelSize: 1, useBias: false })),
    this.add('_convs/1', new Conv2D({ filters: 2, kernelSize: 1, useBias: false })),
  ];
  private readonly norm = this.add('_norm', new BatchNormalization({}));
  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    return this.norm.apply(this.convs[1].apply(this.convs[0].apply(x, args), args), args);
  }
}

class Outer extends Layer<tf.Tensor, tf.Tensor> {
  private readonly stem = this.add('_stem', new Conv2D({ filters: 2, kernelSize: 1 }));
  private readonly inner = this.add('_inner', new Inner());
  private readonly head = this.add('_head', new Dense({ units: 3 }));
  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    const y = this.inner.apply(this.stem.apply(x, args), args);
    return this.head.apply(tf.reshape(y, [y.shape[0], -1]), args);
  }
}

test('Keras 3 containers: a model’s layers by class, a layer’s list attribute, its attributes', () => {
  const model = new Outer();
  tf.tidy(() => void model.apply(tf.zeros([1, 1, 1, 2])));
  // What saving_lib writes for Outer as a subclassed keras.Model holding Inner (a keras Layer with
  // a list attribute `_convs`): the model's `layers` container first, items named by class.
  const layout: [string, number[], string][] = [
    ['layers/conv2d/vars/0', [1, 1, 2, 2], 'outer/conv2d/kernel'],
    ['layers/conv2d/vars/1', [2], 'outer/conv2d/bias'],
    ['layers/inner/_convs/conv2d/vars/0', [1, 1, 2, 2], 'outer/inner/conv2d/kernel'],
    ['layers/inner/_convs/conv2d_1/vars/0', [1, 1, 2, 2], 'outer/inner/conv2d_1/kernel'],
    ['layers/inner/_norm/vars/0', [2], 'outer/inner/batch_normalization/gamma'],
    ['layers/inner/_norm/vars/1', [2], 'outer/inner/batch_normalization/beta'],
    ['layers/inner/_norm/vars/2', [2], 'outer/inner/batch_normalization/moving_mean'],
    ['layers/inner/_norm/vars/3', [2], 'outer/inner/batch_normalization/moving_variance'],
    ['layers/dense/vars/0', [2, 3], 'outer/dense/kernel'],
    ['layers/dense/vars/1', [3], 'outer/dense/bias'],
  ];
  const tensors = new Map(
    layout.map(([key, shape], i) => [
      key,
      {
        dtype: 'float32',
        shape,
        data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, j) => i + j / 10),
      },
    ]),
  );
  const source = { ...tensorMapSource('synthetic.weights.h5', tensors), by: 'keras3' as const };
  const { loaded } = loadWeights(model, source);
  assert.equal(loaded, layout.length);
  const byPath = new Map(model.weights().map((w) => [w.path, w.variable]));
  for (const [key, , path] of layout) {
    assert.deepEqual(byPath.get(path)?.dataSync(), tensors.get(key)!.data, `${path} ← ${key}`);
  }
  model.dispose();
});
