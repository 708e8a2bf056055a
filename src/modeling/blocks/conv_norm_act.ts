/** Conv2D → BatchNormalization → activation, the unit every CNN family repeats. */
import type * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { getInitializer } from '../../core/initializers.js';
import { BatchNormalization } from '../layers/normalization.js';
import { Conv2D } from '../layers/conv.js';
import { getActivation } from '../layers/activations.js';

/** Model Garden's norm_activation config, camel-cased. */
export interface NormActivationOptions {
  activation?: string;
  normMomentum?: number;
  normEpsilon?: number;
}

export interface ConvNormActOptions extends NormActivationOptions {
  filters: number;
  kernelSize: number;
  strides?: number;
  dilationRate?: number;
  kernelInitializer?: string;
  /** Skip the activation (e.g. before a residual add). */
  noActivation?: boolean;
  name?: string;
}

export class ConvNormAct extends Layer<tf.Tensor, tf.Tensor> {
  private readonly conv: Conv2D;
  private readonly norm: BatchNormalization;
  private readonly act: ((x: tf.Tensor) => tf.Tensor) | null;

  constructor(opts: ConvNormActOptions) {
    super({ name: opts.name });
    this.conv = this.add(
      '_conv',
      new Conv2D({
        filters: opts.filters,
        kernelSize: opts.kernelSize,
        strides: opts.strides ?? 1,
        dilationRate: opts.dilationRate ?? 1,
        padding: 'same',
        useBias: false,
        kernelInitializer: getInitializer(opts.kernelInitializer ?? 'he_normal'),
      }),
    );
    this.norm = this.add(
      '_norm',
      new BatchNormalization({
        momentum: opts.normMomentum ?? 0.99,
        epsilon: opts.normEpsilon ?? 0.001,
      }),
    );
    this.act = opts.noActivation ? null : getActivation(opts.activation ?? 'relu');
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    const y = this.norm.apply(this.conv.apply(x, args), args);
    return this.act ? this.act(y) : y;
  }
}
