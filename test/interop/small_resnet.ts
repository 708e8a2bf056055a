/**
 * The plain tf.keras model of ../shared/data/tf-checkpoint, built from our layers as its README
 * describes it: stem conv 16 (3×3) + BN + ReLU, three residual block groups (16 s1 identity,
 * 32 s2 projection, 64 s2 projection; conv-BN-ReLU-conv-BN + shortcut, ReLU), global average
 * pooling, Dense 10. Attributes are the Python attributes of that model (`_stem_conv`,
 * `_block_group_1/_shortcut`, ...), BN epsilon 1e-3.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../src/core/layer.js';
import { Conv2D } from '../../src/modeling/layers/conv.js';
import { Dense } from '../../src/modeling/layers/dense.js';
import { BatchNormalization } from '../../src/modeling/layers/normalization.js';
import { GlobalAveragePooling2D } from '../../src/modeling/layers/pooling.js';

const conv = (filters: number, kernelSize: number, strides: number) =>
  new Conv2D({ filters, kernelSize, strides, padding: 'same', useBias: false });
const bn = () => new BatchNormalization({ epsilon: 1e-3, momentum: 0.99 });

class BlockGroup extends Layer<tf.Tensor, tf.Tensor> {
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
  private readonly stemConv = this.add('_stem_conv', conv(16, 3, 1));
  private readonly stemNorm = this.add('_stem_norm', bn());
  private readonly groups = [
    this.add('_block_group_0', new BlockGroup('block_group_0', 16, 1, false)),
    this.add('_block_group_1', new BlockGroup('block_group_1', 32, 2, true)),
    this.add('_block_group_2', new BlockGroup('block_group_2', 64, 2, true)),
  ];
  private readonly pool = this.add('_pool', new GlobalAveragePooling2D({}));
  private readonly dense = this.add('_dense', new Dense({ units: 10 }));

  constructor() {
    super({ name: 'small_resnet' });
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    let y = tf.relu(this.stemNorm.apply(this.stemConv.apply(x, args), args));
    for (const g of this.groups) y = g.apply(y, args);
    return this.dense.apply(this.pool.apply(y, args), args);
  }
}
