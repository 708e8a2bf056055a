/**
 * Bottleneck residual block (1×1 → 3×3 → 1×1 ×4), Model Garden's `nn_blocks.BottleneckBlock`, with
 * its attribute names (`_shortcut` or, for ResNet-D, `_shortcut0` average pool + `_shortcut1` 1×1
 * conv; `_norm0`; `_conv1..3`/`_norm1..3`; `_squeeze_excitation`; `_stochastic_depth`).
 *
 * Input [batch, h, w, c] → output [batch, ceil(h/s), ceil(w/s), 4·filters]. The stride sits on the
 * 3×3 conv (ResNet v1.5); `dilationRate` dilates that conv (atrous, for output stride 8/16).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { getInitializer } from '../../core/initializers.js';
import { BatchNormalization } from '../layers/normalization.js';
import { Conv2D } from '../layers/conv.js';
import { getActivation } from '../layers/activations.js';
import { StochasticDepth } from '../layers/dropout.js';
import { AvgPool2D } from '../layers/pooling.js';
import { SqueezeExcitation } from '../layers/squeeze_excitation.js';
import type { NormActivationOptions } from './conv_norm_act.js';
import { usesSqueezeExcitation } from './residual_block.js';

/** Output channels of a bottleneck block per `filters` (Model Garden: filters · 4). */
export const BOTTLENECK_EXPANSION = 4;

export interface BottleneckBlockOptions extends NormActivationOptions {
  /** Channels of the two inner convs; the block outputs 4× as many. */
  filters: number;
  strides: number;
  /** Dilation of the 3×3 conv; default 1. Cannot be combined with strides > 1. */
  dilationRate?: number;
  /** Projection shortcut (first block of a group). */
  useProjection: boolean;
  /** Squeeze-and-excitation ratio in (0, 1]; null/0 = none. */
  seRatio?: number | null;
  /** ResNet-D shortcut: 2×2 average pool (stride `strides`, 'same') then a stride-1 1×1 conv. */
  resnetdShortcut?: boolean;
  stochasticDepthDropRate?: number | null;
  /** Default 'VarianceScaling' (Model Garden). */
  kernelInitializer?: string;
  bnTrainable?: boolean;
  name?: string;
}

export class BottleneckBlock extends Layer<tf.Tensor, tf.Tensor> {
  readonly filters: number;
  readonly strides: number;
  readonly dilationRate: number;
  private readonly shortcutPool: AvgPool2D | null = null;
  private readonly shortcut: Conv2D | null = null;
  private readonly norm0: BatchNormalization | null = null;
  private readonly conv1: Conv2D;
  private readonly norm1: BatchNormalization;
  private readonly conv2: Conv2D;
  private readonly norm2: BatchNormalization;
  private readonly conv3: Conv2D;
  private readonly norm3: BatchNormalization;
  private readonly se: SqueezeExcitation | null = null;
  private readonly stochasticDepth: StochasticDepth | null = null;
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(opts: BottleneckBlockOptions) {
    super({ name: opts.name });
    this.filters = opts.filters;
    this.strides = opts.strides;
    this.dilationRate = opts.dilationRate ?? 1;
    const initName = opts.kernelInitializer ?? 'VarianceScaling';
    const init = getInitializer(initName);
    const outFilters = opts.filters * BOTTLENECK_EXPANSION;
    const bn = () =>
      new BatchNormalization({
        momentum: opts.normMomentum ?? 0.99,
        epsilon: opts.normEpsilon ?? 0.001,
        trainable: opts.bnTrainable ?? true,
      });
    const conv = (filters: number, kernelSize: number, strides: number, dilationRate = 1) =>
      new Conv2D({
        filters,
        kernelSize,
        strides,
        dilationRate,
        padding: 'same',
        useBias: false,
        kernelInitializer: init,
      });
    if (opts.useProjection) {
      if (opts.resnetdShortcut) {
        this.shortcutPool = this.add(
          '_shortcut0',
          new AvgPool2D({ poolSize: 2, strides: opts.strides, padding: 'same' }),
        );
        this.shortcut = this.add('_shortcut1', conv(outFilters, 1, 1));
      } else {
        this.shortcut = this.add('_shortcut', conv(outFilters, 1, opts.strides));
      }
      this.norm0 = this.add('_norm0', bn());
    }
    this.conv1 = this.add('_conv1', conv(opts.filters, 1, 1));
    this.norm1 = this.add('_norm1', bn());
    this.conv2 = this.add('_conv2', conv(opts.filters, 3, opts.strides, this.dilationRate));
    this.norm2 = this.add('_norm2', bn());
    this.conv3 = this.add('_conv3', conv(outFilters, 1, 1));
    this.norm3 = this.add('_norm3', bn());
    if (usesSqueezeExcitation(opts.seRatio)) {
      this.se = this.add(
        '_squeeze_excitation',
        new SqueezeExcitation({
          inFilters: outFilters,
          outFilters,
          seRatio: opts.seRatio,
          kernelInitializer: initName,
        }),
      );
    }
    if (opts.stochasticDepthDropRate) {
      this.stochasticDepth = this.add(
        '_stochastic_depth',
        new StochasticDepth({ dropRate: opts.stochasticDepthDropRate }),
      );
    }
    this.act = getActivation(opts.activation ?? 'relu');
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    return tf.tidy(() => {
      let shortcut = x;
      if (this.shortcut && this.norm0) {
        const pooled = this.shortcutPool ? this.shortcutPool.apply(x, args) : x;
        shortcut = this.norm0.apply(this.shortcut.apply(pooled, args), args);
      }
      let y = this.act(this.norm1.apply(this.conv1.apply(x, args), args));
      y = this.act(this.norm2.apply(this.conv2.apply(y, args), args));
      y = this.norm3.apply(this.conv3.apply(y, args), args);
      if (this.se) y = this.se.apply(y, args);
      if (this.stochasticDepth) y = this.stochasticDepth.apply(y, args);
      return this.act(tf.add(y, shortcut));
    });
  }
}
