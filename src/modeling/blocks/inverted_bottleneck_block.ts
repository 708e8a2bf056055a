/**
 * Inverted bottleneck (MobileNetV2 / MBConv) block, Model Garden's `nn_blocks.InvertedBottleneckBlock`
 * with its attribute names: `_conv0`/`_norm0` (1×1 expansion, only when expand_ratio > 1), `_conv1`/
 * `_norm1` (k×k depthwise), `_squeeze_excitation`, `_conv2`/`_norm2` (1×1 projection),
 * `_stochastic_depth`.
 *
 * y = norm2(conv2(SE(dact(norm1(dw(act(norm0(conv0(x))))))))), plus x (after stochastic depth)
 * when `useResidual`, in == out filters and stride 1. With `useDepthwise` false (fused MBConv)
 * the expansion conv is k×k with the stride and there is no depthwise conv.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { getInitializer } from '../../core/initializers.js';
import { BatchNormalization } from '../layers/normalization.js';
import { Conv2D, DepthwiseConv2D } from '../layers/conv.js';
import { getActivation, type ActivationFn } from '../layers/activations.js';
import { StochasticDepth } from '../layers/dropout.js';
import { makeDivisible, SqueezeExcitation } from '../layers/squeeze_excitation.js';
import type { NormActivationOptions } from './conv_norm_act.js';
import { usesSqueezeExcitation } from './residual_block.js';

export interface InvertedBottleneckBlockOptions extends NormActivationOptions {
  inFilters: number;
  outFilters: number;
  expandRatio: number;
  strides: number;
  /** Depthwise kernel size; default 3. */
  kernelSize?: number;
  /** SE ratio in (0, 1]; null/0 = none. */
  seRatio?: number | null;
  stochasticDepthDropRate?: number | null;
  /** Default 'VarianceScaling'. */
  kernelInitializer?: string;
  /** SE inner activation; default 'relu'. */
  seInnerActivation?: string;
  /** SE gate; default 'sigmoid'. */
  seGatingActivation?: string;
  /** Default true. */
  seRoundDownProtect?: boolean;
  /** SE reduces from the expanded width instead of in_filters; default false. */
  expandSeInFilters?: boolean;
  /** After the depthwise conv; default: `activation`. */
  depthwiseActivation?: string | null;
  /** Default 1. */
  dilationRate?: number;
  /** Default 1. */
  divisibleBy?: number;
  /** Default true; false = fused (k×k expansion, no depthwise). */
  useDepthwise?: boolean;
  /** Default true. */
  useResidual?: boolean;
  name?: string;
}

export class InvertedBottleneckBlock extends Layer<tf.Tensor, tf.Tensor> {
  readonly inFilters: number;
  readonly outFilters: number;
  readonly strides: number;
  private readonly conv0: Conv2D | null = null;
  private readonly norm0: BatchNormalization | null = null;
  private readonly conv1: DepthwiseConv2D | null = null;
  private readonly norm1: BatchNormalization | null = null;
  private readonly se: SqueezeExcitation | null = null;
  private readonly conv2: Conv2D;
  private readonly norm2: BatchNormalization;
  private readonly stochasticDepth: StochasticDepth | null = null;
  private readonly residual: boolean;
  private readonly act: ActivationFn;
  private readonly depthwiseAct: ActivationFn;

  constructor(opts: InvertedBottleneckBlockOptions) {
    super({ name: opts.name });
    this.inFilters = opts.inFilters;
    this.outFilters = opts.outFilters;
    this.strides = opts.strides;
    const initName = opts.kernelInitializer ?? 'VarianceScaling';
    const init = getInitializer(initName);
    const kernelSize = opts.kernelSize ?? 3;
    const divisibleBy = opts.divisibleBy ?? 1;
    const useDepthwise = opts.useDepthwise ?? true;
    const bn = () =>
      new BatchNormalization({
        momentum: opts.normMomentum ?? 0.99,
        epsilon: opts.normEpsilon ?? 0.001,
      });
    const conv = (filters: number, k: number, strides: number) =>
      new Conv2D({
        filters,
        kernelSize: k,
        strides,
        padding: 'same',
        useBias: false,
        kernelInitializer: init,
      });
    const expandFilters = makeDivisible(opts.inFilters * opts.expandRatio, divisibleBy);
    // MG builds `_conv0` always but calls (and so creates the weights of) it only when expanding.
    if (opts.expandRatio > 1) {
      this.conv0 = this.add(
        '_conv0',
        conv(expandFilters, useDepthwise ? 1 : kernelSize, useDepthwise ? 1 : opts.strides),
      );
      this.norm0 = this.add('_norm0', bn());
    } else if (!useDepthwise) {
      throw new Error(
        'InvertedBottleneckBlock: use_depthwise false needs expand_ratio > 1 (the fused conv is the expansion)',
      );
    }
    if (useDepthwise) {
      this.conv1 = this.add(
        '_conv1',
        new DepthwiseConv2D({
          kernelSize,
          strides: opts.strides,
          padding: 'same',
          dilationRate: opts.dilationRate ?? 1,
          useBias: false,
          depthwiseInitializer: init,
        }),
      );
      this.norm1 = this.add('_norm1', bn());
    }
    if (usesSqueezeExcitation(opts.seRatio)) {
      this.se = this.add(
        '_squeeze_excitation',
        new SqueezeExcitation({
          inFilters: opts.expandSeInFilters ? expandFilters : opts.inFilters,
          outFilters: expandFilters,
          seRatio: opts.seRatio,
          divisibleBy,
          roundDownProtect: opts.seRoundDownProtect ?? true,
          kernelInitializer: initName,
          activation: opts.seInnerActivation ?? 'relu',
          gatingActivation: opts.seGatingActivation ?? 'sigmoid',
        }),
      );
    }
    this.conv2 = this.add('_conv2', conv(opts.outFilters, 1, 1));
    this.norm2 = this.add('_norm2', bn());
    if (opts.stochasticDepthDropRate) {
      this.stochasticDepth = this.add(
        '_stochastic_depth',
        new StochasticDepth({ dropRate: opts.stochasticDepthDropRate }),
      );
    }
    this.residual =
      (opts.useResidual ?? true) && opts.inFilters === opts.outFilters && opts.strides === 1;
    const activation = opts.activation ?? 'relu';
    this.act = getActivation(activation);
    this.depthwiseAct = getActivation(opts.depthwiseActivation || activation);
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    return tf.tidy(() => {
      let y = x;
      if (this.conv0 && this.norm0) {
        y = this.act(this.norm0.apply(this.conv0.apply(y, args), args));
      }
      if (this.conv1 && this.norm1) {
        y = this.depthwiseAct(this.norm1.apply(this.conv1.apply(y, args), args));
      }
      if (this.se) y = this.se.apply(y, args);
      y = this.norm2.apply(this.conv2.apply(y, args), args);
      if (this.residual) {
        if (this.stochasticDepth) y = this.stochasticDepth.apply(y, args);
        y = tf.add(y, x);
      }
      return y;
    });
  }
}
