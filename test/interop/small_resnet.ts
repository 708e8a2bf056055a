/**
 * The plain tf.keras model of ../shared/data/tf-checkpoint, built from our layers as its README
 * describes it: stem conv 16 (3×3) + BN + ReLU, three residual block groups (16 s1 identity,
 * 32 s2 projection, 64 s2 projection; conv-BN-ReLU-conv-BN + shortcut, ReLU), global average
 * pooling, Dense 10. Attributes are the Python attributes of that model (`_stem_conv`,
 * `_block_group_1/_shortcut`, ...), BN epsilon 1e-3.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../src/core/layer.js';
import { Conv2D } from '../../src/modeling/layers/conv.js';
import { Dense } from '../../src/modeling/layers/dense.js';
import { BatchNormalization } from '../../src/modeling/layers/normalization.js';
import { GlobalAveragePooling2D } from '../../src/modeling/layers/pooling.js';
import { readNpy } from '../../src/interop/numpy.js';
import { sharedData } from '../helpers.js';

const conv = (filters: number, kernelSize: number, strides: number) =>
  new Conv2D({ filters, kernelSize, strides, padding: 'same', useBias: false });
const bn = () => new BatchNormalization({ epsilon: 1e-3, momentum: 0.99 });

// The fixture's Keras class is `ResidualBlock`: Keras 3 names a model's `layers` items by class
// (`layers/residual_block_1/...` in model.weights.h5), so ours carries the same class name.
class ResidualBlock extends Layer<tf.Tensor, tf.Tensor> {
  private readonly conv1: Conv2D;
  private readonly norm1: BatchNormalization;
  private readonly conv2: Conv2D;
  private readonly norm2: BatchNormalization;
  private readonly shortcut: Conv2D | null = null;
  private readonly norm0: BatchNormalization | null = null;

  constructor(name: string, filters: number, strides: number, project: boolean) {
    super({ name });
    // Registration order gives the Keras names of the README: conv2d, batch_normalization,
    // conv2d_1, batch_normalization_1, then the shortcut's conv2d_2 / batch_normalization_2.
    this.conv1 = this.add('_conv1', conv(filters, 3, strides));
    this.norm1 = this.add('_norm1', bn());
    this.conv2 = this.add('_conv2', conv(filters, 3, 1));
    this.norm2 = this.add('_norm2', bn());
    if (project) {
      this.shortcut = this.add('_shortcut', conv(filters, 1, strides));
      this.norm0 = this.add('_norm0', bn());
    }
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    const y = tf.relu(this.norm1.apply(this.conv1.apply(x, args), args));
    const z = this.norm2.apply(this.conv2.apply(y, args), args);
    const s =
      this.shortcut && this.norm0 ? this.norm0.apply(this.shortcut.apply(x, args), args) : x;
    return tf.relu(tf.add(z, s));
  }
}

export class SmallResNet extends Layer<tf.Tensor, tf.Tensor> {
  private readonly stemConv: Conv2D;
  private readonly stemNorm: BatchNormalization;
  private readonly groups: ResidualBlock[];
  private readonly pool: GlobalAveragePooling2D;
  private readonly dense: Dense;

  /** `widths`: the fixture's [16, 32, 64]; others make a model the checkpoint does not fit. */
  constructor(widths: readonly [number, number, number] = [16, 32, 64]) {
    super({ name: 'small_resnet' });
    this.stemConv = this.add('_stem_conv', conv(widths[0], 3, 1));
    this.stemNorm = this.add('_stem_norm', bn());
    this.groups = [
      this.add('_block_group_0', new ResidualBlock('block_group_0', widths[0], 1, false)),
      this.add('_block_group_1', new ResidualBlock('block_group_1', widths[1], 2, true)),
      this.add('_block_group_2', new ResidualBlock('block_group_2', widths[2], 2, true)),
    ];
    this.pool = this.add('_pool', new GlobalAveragePooling2D({}));
    this.dense = this.add('_dense', new Dense({ units: 10 }));
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    let y = tf.relu(this.stemNorm.apply(this.stemConv.apply(x, args), args));
    for (const g of this.groups) y = g.apply(y, args);
    return this.dense.apply(this.pool.apply(y, args), args);
  }
}

/** The model's logits on `input` equal TensorFlow's (`tf-checkpoint/logits.npy`) to 1e-4. */
export function assertFixtureLogits(model: SmallResNet, input: tf.Tensor): void {
  const logits = tf.tidy(() => model.apply(input, { training: false }).dataSync());
  const want = readNpy(sharedData('tf-checkpoint', 'logits.npy')).data as Float32Array;
  assert.equal(logits.length, want.length);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(logits[i] - want[i]) <= 1e-4, `logit ${i}: ${logits[i]} vs ${want[i]}`);
  }
}
