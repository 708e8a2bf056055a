/**
 * Model Garden's MobileNet `Conv2DBNBlock` (modeling/backbones/mobilenet.py): Conv2D `_conv0`
 * (optional bias) → optional BatchNormalization `_norm0` → activation.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { setKerasDefaultName } from '../layers/layer_utils.js';
import { getActivation, type ActivationFn } from '../layers/activations.js';
import { Conv2D } from '../layers/conv.js';
import { BatchNormalization } from '../layers/normalization.js';
import type { NormActivationOptions } from './conv_norm_act.js';

export interface Conv2DBNBlockOptions extends NormActivationOptions {
  filters: number;
  kernelSize: number;
  strides?: number;
  useBias?: boolean;
  useNormalization?: boolean;
  kernelInitializer?: string;
  name?: string;
}

export class Conv2DBNBlock extends Layer<tf.Tensor, tf.Tensor> {
  private readonly conv: Conv2D;
  private readonly norm: BatchNormalization | null = null;
  private readonly act: ActivationFn;

  constructor(opts: Conv2DBNBlockOptions) {
    super({ name: opts.name });
    setKerasDefaultName(this, opts, 'conv2dbn_block');
    this.conv = this.add(
      '_conv0',
      new Conv2D({
        filters: opts.filters,
        kernelSize: opts.kernelSize,
        strides: opts.strides ?? 1,
        padding: 'same',
        useBias: opts.useBias ?? false,
        kernelInitializer: opts.kernelInitializer ?? 'VarianceScaling',
      }),
    );
    if (opts.useNormalization ?? true) {
      this.norm = this.add(
        '_norm0',
        new BatchNormalization({
          momentum: opts.normMomentum ?? 0.99,
          epsilon: opts.normEpsilon ?? 0.001,
        }),
      );
    }
    this.act = getActivation(opts.activation ?? 'relu6');
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    let y = this.conv.apply(x, args);
    if (this.norm) y = this.norm.apply(y, args);
    return this.act(y);
  }
}
