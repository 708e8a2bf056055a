/**
 * Basic residual block (two 3×3 convs), with the attribute names of Model Garden's
 * `nn_blocks.ResidualBlock` (`_shortcut`/`_norm0`, `_conv1`/`_norm1`, `_conv2`/`_norm2`,
 * `_squeeze_excitation`, `_stochastic_depth`), so weights map onto Model Garden checkpoints by rule.
 *
 * y = act(SD(SE(norm2(conv2(act(norm1(conv1(x))))))) + shortcut(x)), shortcut = norm0(conv1×1(x))
 * when projecting, else x. As in Model Garden, `resnetd_shortcut` does not apply to this block.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { getInitializer } from '../../core/initializers.js';
import { BatchNormalization } from '../layers/normalization.js';
import { Conv2D } from '../layers/conv.js';
import { getActivation } from '../layers/activations.js';
import { StochasticDepth } from '../layers/dropout.js';
import { SqueezeExcitation } from '../layers/squeeze_excitation.js';
import type { NormActivationOptions } from './conv_norm_act.js';

export interface ResidualBlockOptions extends NormActivationOptions {
  filters: number;
  strides: number;
  /** 1×1 projection shortcut (needed when stride or width changes). */
  useProjection: boolean;
  /** Squeeze-and-excitation ratio in (0, 1]; null/0 = none. */
  seRatio?: number | null;
  /** Drop rate of the residual branch in training; null/0 = none. */
  stochasticDepthDropRate?: number | null;
  /** Default 'he_normal' (vision-garden's compact ResNet); Model Garden's ResNet passes 'VarianceScaling'. */
  kernelInitializer?: string;
  /** Whether the batch norms train (Model Garden `bn_trainable`); default true. */
  bnTrainable?: boolean;
  name?: string;
}

/** Whether Model Garden adds an SE layer for this ratio (`0 < se_ratio <= 1`). */
export function usesSqueezeExcitation(seRatio: number | null | undefined): seRatio is number {
  return typeof seRatio === 'number' && seRatio > 0 && seRatio <= 1;
}

export class ResidualBlock extends Layer<tf.Tensor, tf.Tensor> {
  readonly filters: number;
  readonly strides: number;
  private readonly shortcut: Conv2D | null = null;
  private readonly norm0: BatchNormalization | null = null;
  private readonly conv1: Conv2D;
  private readonly norm1: BatchNormalization;
  private readonly conv2: Conv2D;
  private readonly norm2: BatchNormalization;
  private readonly se: SqueezeExcitation | null = null;
  private readonly stochasticDepth: StochasticDepth | null = null;
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(opts: ResidualBlockOptions) {
    super({ name: opts.name });
    this.filters = opts.filters;
    this.strides = opts.strides;
    const initName = opts.kernelInitializer ?? 'he_normal';
    const init = getInitializer(initName);
    const bn = () =>
      new BatchNormalization({
        momentum: opts.normMomentum ?? 0.99,
        epsilon: opts.normEpsilon ?? 0.001,
        trainable: opts.bnTrainable ?? true,
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
    if (usesSqueezeExcitation(opts.seRatio)) {
      this.se = this.add(
        '_squeeze_excitation',
        new SqueezeExcitation({
          inFilters: opts.filters,
          outFilters: opts.filters,
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
      const shortcut =
        this.shortcut && this.norm0 ? this.norm0.apply(this.shortcut.apply(x, args), args) : x;
      let y = this.act(this.norm1.apply(this.conv1.apply(x, args), args));
      y = this.norm2.apply(this.conv2.apply(y, args), args);
      if (this.se) y = this.se.apply(y, args);
      if (this.stochasticDepth) y = this.stochasticDepth.apply(y, args);
      return this.act(tf.add(y, shortcut));
    });
  }
}
