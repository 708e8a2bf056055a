/**
 * Model Garden `nn_blocks.DepthwiseSeparableConvBlock` (MobileNetV1's unit): DepthwiseConv2D
 * `_dwconv0` (no bias, strided or dilated) → BN `_norm0` → act → 1×1 Conv2D `_conv1` (no bias) →
 * BN `_norm1` → act.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { setKerasDefaultName } from '../layers/layer_utils.js';
import { getActivation, type ActivationFn } from '../layers/activations.js';
import { Conv2D, DepthwiseConv2D } from '../layers/conv.js';
import { BatchNormalization } from '../layers/normalization.js';
import type { NormActivationOptions } from './conv_norm_act.js';

export interface DepthwiseSeparableConvBlockOptions extends NormActivationOptions {
  filters: number;
  kernelSize?: number;
  strides?: number;
  dilationRate?: number;
  kernelInitializer?: string;
  name?: string;
}

export class DepthwiseSeparableConvBlock extends Layer<tf.Tensor, tf.Tensor> {
  private readonly dwconv: DepthwiseConv2D;
  private readonly norm0: BatchNormalization;
  private readonly conv: Conv2D;
  private readonly norm1: BatchNormalization;
  private readonly act: ActivationFn;

  constructor(opts: DepthwiseSeparableConvBlockOptions) {
    super({ name: opts.name });
    setKerasDefaultName(this, opts, 'depthwise_separable_conv_block');
    const init = opts.kernelInitializer ?? 'VarianceScaling';
    const bn = (name: string) =>
      new BatchNormalization({
        name,
        momentum: opts.normMomentum ?? 0.99,
        epsilon: opts.normEpsilon ?? 0.001,
      });
    this.dwconv = this.add(
      '_dwconv0',
      new DepthwiseConv2D({
        kernelSize: opts.kernelSize ?? 3,
        strides: opts.strides ?? 1,
        dilationRate: opts.dilationRate ?? 1,
        padding: 'same',
        useBias: false,
        depthwiseInitializer: init,
      }),
    );
    this.norm0 = this.add('_norm0', bn('batch_normalization'));
    this.conv = this.add(
      '_conv1',
      new Conv2D({ filters: opts.filters, kernelSize: 1, useBias: false, kernelInitializer: init }),
    );
    this.norm1 = this.add('_norm1', bn('batch_normalization_1'));
    this.act = getActivation(opts.activation ?? 'relu6');
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    const y = this.act(this.norm0.apply(this.dwconv.apply(x, args), args));
    return this.act(this.norm1.apply(this.conv.apply(y, args), args));
  }
}
