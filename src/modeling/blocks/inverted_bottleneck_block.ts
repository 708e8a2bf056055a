/**
 * Model Garden `nn_blocks.InvertedBottleneckBlock` (MobileNetV2/V3; Sandler et al. 2018,
 * arXiv:1801.04381): expand 1×1 conv `_conv0` + BN `_norm0` + act (only when expand_ratio > 1;
 * with use_depthwise false it is the k×k strided "fused" conv), depthwise k×k `_conv1` + BN `_norm1`
 * + depthwise activation (use_depthwise), squeeze-excitation on the expanded channels, project 1×1
 * `_conv2` + BN `_norm2` (linear), and the residual add (with stochastic depth) when use_residual,
 * stride 1 and in = out channels. Expanded width = make_divisible(in · ratio, divisible_by).
 *
 * Keras names follow MG's build order, in which `_conv0` is created even when unused:
 * conv2d / depthwise_conv2d / conv2d_1 and batch_normalization(_1, _2).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { setKerasDefaultName } from '../layers/layer_utils.js';
import { getActivation, type ActivationFn } from '../layers/activations.js';
import { Conv2D, DepthwiseConv2D } from '../layers/conv.js';
import { StochasticDepth } from '../layers/dropout.js';
import { BatchNormalization } from '../layers/normalization.js';
import { makeDivisible, SqueezeExcitation } from '../layers/squeeze_excitation.js';
import type { NormActivationOptions } from './conv_norm_act.js';

export interface InvertedBottleneckBlockOptions extends NormActivationOptions {
  inFilters: number;
  outFilters: number;
  expandRatio: number;
  strides?: number;
  kernelSize?: number;
  /** In (0, 1]; null/0 = no squeeze-excitation. */
  seRatio?: number | null;
  /** Squeeze-excitation reads the expanded width (MG expand_se_in_filters); default false. */
  expandSeInFilters?: boolean;
  seInnerActivation?: string;
  seGatingActivation?: string;
  /** Activation after the depthwise conv; default `activation`. */
  depthwiseActivation?: string | null;
  stochasticDepthDropRate?: number | null;
  dilationRate?: number;
  divisibleBy?: number;
  useDepthwise?: boolean;
  useResidual?: boolean;
  kernelInitializer?: string;
  name?: string;
}

export class InvertedBottleneckBlock extends Layer<tf.Tensor, tf.Tensor> {
  readonly expandFilters: number;
  /** Whether the block has the depthwise conv (use_depthwise). */
  readonly hasDepthwise: boolean;
  private readonly expand: Conv2D | null = null;
  private readonly norm0: BatchNormalization | null = null;
  private readonly depthwise: DepthwiseConv2D | null = null;
  private readonly norm1: BatchNormalization | null = null;
  private readonly se: SqueezeExcitation | null = null;
  private readonly project: Conv2D;
  private readonly norm2: BatchNormalization;
  private readonly stochasticDepth: StochasticDepth | null = null;
  private readonly act: ActivationFn;
  private readonly depthwiseAct: ActivationFn;
  private readonly residual: boolean;

  constructor(opts: InvertedBottleneckBlockOptions) {
    super({ name: opts.name });
    setKerasDefaultName(this, opts, 'inverted_bottleneck_block');
    const init = opts.kernelInitializer ?? 'VarianceScaling';
    const strides = opts.strides ?? 1;
    const kernelSize = opts.kernelSize ?? 3;
    const useDepthwise = opts.useDepthwise ?? true;
    const activation = opts.activation ?? 'relu';
    this.expandFilters = makeDivisible(opts.inFilters * opts.expandRatio, opts.divisibleBy ?? 1);
    const bn = (name: string) =>
      new BatchNormalization({
        name,
        momentum: opts.normMomentum ?? 0.99,
        epsilon: opts.normEpsilon ?? 0.001,
      });
    if (opts.expandRatio > 1) {
      this.expand = this.add(
        '_conv0',
        new Conv2D({
          name: 'conv2d',
          filters: this.expandFilters,
          kernelSize: useDepthwise ? 1 : kernelSize,
          strides: useDepthwise ? 1 : strides,
          padding: 'same',
          useBias: false,
          kernelInitializer: init,
        }),
      );
      this.norm0 = this.add('_norm0', bn('batch_normalization'));
    }
    this.hasDepthwise = useDepthwise;
    if (useDepthwise) {
      this.depthwise = this.add(
        '_conv1',
        new DepthwiseConv2D({
          name: 'depthwise_conv2d',
          kernelSize,
          strides,
          dilationRate: opts.dilationRate ?? 1,
          padding: 'same',
          useBias: false,
          depthwiseInitializer: init,
        }),
      );
      this.norm1 = this.add('_norm1', bn('batch_normalization_1'));
    }
    const seRatio = opts.seRatio ?? 0;
    if (seRatio > 0 && seRatio <= 1) {
      this.se = this.add(
        '_squeeze_excitation',
        new SqueezeExcitation({
          inFilters: opts.expandSeInFilters ? this.expandFilters : opts.inFilters,
          outFilters: this.expandFilters,
          seRatio,
          divisibleBy: opts.divisibleBy ?? 1,
          kernelInitializer: init,
          activation: opts.seInnerActivation ?? 'relu',
          gatingActivation: opts.seGatingActivation ?? 'sigmoid',
        }),
      );
    }
    this.project = this.add(
      '_conv2',
      new Conv2D({
        name: 'conv2d_1',
        filters: opts.outFilters,
        kernelSize: 1,
        padding: 'same',
        useBias: false,
        kernelInitializer: init,
      }),
    );
    this.norm2 = this.add(
      '_norm2',
      bn(useDepthwise ? 'batch_normalization_2' : 'batch_normalization_1'),
    );
    this.residual =
      (opts.useResidual ?? true) && opts.inFilters === opts.outFilters && strides === 1;
    if (this.residual && opts.stochasticDepthDropRate) {
      this.stochasticDepth = this.add(
        '_stochastic_depth',
        new StochasticDepth({ dropRate: opts.stochasticDepthDropRate }),
      );
    }
    this.act = getActivation(activation);
    this.depthwiseAct = getActivation(opts.depthwiseActivation || activation);
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    return this.forward(x, args).output;
  }

  /**
   * The block's output and, with a depthwise conv, the activated depthwise result (MG's
   * intermediate endpoint 'depthwise'). Runs the same sub-layers as `apply`.
   */
  forward(x: tf.Tensor, args: CallArgs): { output: tf.Tensor; depthwise: tf.Tensor | null } {
    let y = x;
    if (this.expand && this.norm0) y = this.act(this.norm0.apply(this.expand.apply(y, args), args));
    let depthwise: tf.Tensor | null = null;
    if (this.depthwise && this.norm1) {
      y = this.depthwiseAct(this.norm1.apply(this.depthwise.apply(y, args), args));
      depthwise = y;
    }
    if (this.se) y = this.se.apply(y, args);
    y = this.norm2.apply(this.project.apply(y, args), args);
    if (!this.residual) return { output: y, depthwise };
    if (this.stochasticDepth) y = this.stochasticDepth.apply(y, args);
    return { output: tf.add(y, x), depthwise };
  }
}
