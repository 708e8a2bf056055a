/**
 * Basic residual block (two 3×3 convs), with the attribute names of Model Garden's
 * `nn_blocks.ResidualBlock` (`_shortcut`/`_norm0`, `_conv1`/`_norm1`, `_conv2`/`_norm2`), so
 * weights map onto Model Garden checkpoints by rule.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { getInitializer } from '../../core/initializers.js';
import { BatchNormalization } from '../layers/normalization.js';
import { Conv2D } from '../layers/conv.js';
import { getActivation } from '../layers/activations.js';
import type { NormActivationOptions } from './conv_norm_act.js';

export interface ResidualBlockOptions extends NormActivationOptions {
  filters: number;
  strides: number;
  /** 1×1 projection shortcut (needed when stride or width changes). */
  useProjection: boolean;
  kernelInitializer?: string;
  name?: string;
}

export class ResidualBlock extends Layer<tf.Tensor, tf.Tensor> {
  private readonly shortcut: Conv2D | null = null;
  private readonly norm0: BatchNormalization | null = null;
  private readonly conv1: Conv2D;
  private readonly norm1: BatchNormalization;
  private readonly conv2: Conv2D;
  private readonly norm2: BatchNormalization;
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(opts: ResidualBlockOptions) {
    super({ name: opts.name });
    const init = getInitializer(opts.kernelInitializer ?? 'he_normal');
    const bn = () =>
      new BatchNormalization({
        momentum: opts.normMomentum ?? 0.99,
        epsilon: opts.normEpsilon ?? 0.001,
      });
    const conv = (kernelSize: number, strides: number) =>
      new Conv2D({
        filters: opts.filters,
        kernelSize,
        strides,
        padding: 'same',
        useBias: false,
        kernelInitializer: init,
      });
    if (opts.useProjection) {
      this.shortcut = this.add('_shortcut', conv(1, opts.strides));
      this.norm0 = this.add('_norm0', bn());
    }
    this.conv1 = this.add('_conv1', conv(3, opts.strides));
    this.norm1 = this.add('_norm1', bn());
    this.conv2 = this.add('_conv2', conv(3, 1));
    this.norm2 = this.add('_norm2', bn());
    this.act = getActivation(opts.activation ?? 'relu');
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    const shortcut =
      this.shortcut && this.norm0 ? this.norm0.apply(this.shortcut.apply(x, args), args) : x;
    let y = this.act(this.norm1.apply(this.conv1.apply(x, args), args));
    y = this.norm2.apply(this.conv2.apply(y, args), args);
    return this.act(tf.add(y, shortcut));
  }
}
