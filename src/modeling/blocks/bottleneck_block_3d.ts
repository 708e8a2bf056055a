/**
 * 3-D bottleneck block, Model Garden's `nn_blocks_3d.BottleneckBlock3D` (official/vision/modeling/
 * layers/nn_blocks_3d.py), with its attribute names: `_shortcut_conv`/`_norm0` (projection),
 * `_temporal_conv`/`_norm1` ([kt,1,1], temporal stride), `_spatial_conv`/`_norm2` ([1,3,3], spatial
 * stride), `_expand_conv`/`_norm3` ([1,1,1] to 4·filters), then `_self_gating`,
 * `_squeeze_excitation` (pooled over t, h, w), `_stochastic_depth`, and act(x + shortcut).
 *
 * Shortcut: the input itself when it already has 4·filters channels (strided by a 1×1×1 max pool
 * when a stride is > 1), otherwise a strided 1×1×1 conv + BN. Keras names follow MG, which creates
 * the shortcut conv in every block: conv3d (shortcut), conv3d_1 … conv3d_3.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { getInitializer } from '../../core/initializers.js';
import { BatchNormalization } from '../layers/normalization.js';
import { Conv3D } from '../layers/conv.js';
import { getActivation } from '../layers/activations.js';
import { StochasticDepth } from '../layers/dropout.js';
import { MaxPool3D } from '../layers/pooling.js';
import { SqueezeExcitation } from '../layers/squeeze_excitation.js';
import { BOTTLENECK_EXPANSION } from './bottleneck_block.js';
import type { NormActivationOptions } from './conv_norm_act.js';
import { usesSqueezeExcitation } from './residual_block.js';
import { SelfGating } from './self_gating.js';

export interface BottleneckBlock3DOptions extends NormActivationOptions {
  /** Channels of the temporal and spatial convs; the block outputs 4× as many. */
  filters: number;
  temporalKernelSize: number;
  temporalStrides: number;
  spatialStrides: number;
  /** Channels of the input: decides between the identity and the projection shortcut. */
  inFilters: number;
  stochasticDepthDropRate?: number | null;
  /** SE ratio in (0, 1]; null/0 = none. */
  seRatio?: number | null;
  useSelfGating?: boolean;
  /** Default 'VarianceScaling' (Model Garden). */
  kernelInitializer?: string;
  name?: string;
}

export class BottleneckBlock3D extends Layer<tf.Tensor, tf.Tensor> {
  readonly filters: number;
  readonly inFilters: number;
  readonly temporalStrides: number;
  readonly spatialStrides: number;
  /** Drop rate of the residual branch (null or 0: none). */
  readonly stochasticDepthDropRate: number | null;
  private readonly shortcutPool: MaxPool3D | null = null;
  private readonly shortcutConv: Conv3D | null = null;
  private readonly norm0: BatchNormalization | null = null;
  private readonly temporalConv: Conv3D;
  private readonly norm1: BatchNormalization;
  private readonly spatialConv: Conv3D;
  private readonly norm2: BatchNormalization;
  private readonly expandConv: Conv3D;
  private readonly norm3: BatchNormalization;
  private readonly se: SqueezeExcitation | null = null;
  private readonly stochasticDepth: StochasticDepth | null = null;
  private readonly selfGating: SelfGating | null = null;
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(opts: BottleneckBlock3DOptions) {
    super({ name: opts.name });
    for (const [field, v] of [
      ['filters', opts.filters],
      ['temporalKernelSize', opts.temporalKernelSize],
      ['temporalStrides', opts.temporalStrides],
      ['spatialStrides', opts.spatialStrides],
      ['inFilters', opts.inFilters],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new Error(
          `BottleneckBlock3D '${this.name}': ${field} must be a positive integer, got ${v}`,
        );
      }
    }
    this.filters = opts.filters;
    this.inFilters = opts.inFilters;
    this.temporalStrides = opts.temporalStrides;
    this.spatialStrides = opts.spatialStrides;
    this.stochasticDepthDropRate = opts.stochasticDepthDropRate ?? null;
    const initName = opts.kernelInitializer ?? 'VarianceScaling';
    const init = getInitializer(initName);
    const outFilters = opts.filters * BOTTLENECK_EXPANSION;
    const strides = [opts.temporalStrides, opts.spatialStrides, opts.spatialStrides];
    const bn = (name: string) =>
      new BatchNormalization({
        name,
        momentum: opts.normMomentum ?? 0.99,
        epsilon: opts.normEpsilon ?? 0.001,
      });
    const conv = (name: string, filters: number, kernelSize: number[], s: number[]) =>
      new Conv3D({
        name,
        filters,
        kernelSize,
        strides: s,
        padding: 'same',
        useBias: false,
        kernelInitializer: init,
      });
    if (opts.inFilters !== outFilters) {
      // MG's shortcut conv keeps Keras' 'valid' padding; with a 1×1×1 kernel that equals 'same'.
      this.shortcutConv = this.add(
        '_shortcut_conv',
        conv('conv3d', outFilters, [1, 1, 1], strides),
      );
      this.norm0 = this.add('_norm0', bn('batch_normalization'));
    } else if (strides.some((s) => s > 1)) {
      this.shortcutPool = this.add(
        '_shortcut_maxpool',
        new MaxPool3D({ poolSize: [1, 1, 1], strides, padding: 'valid' }),
      );
    }
    this.temporalConv = this.add(
      '_temporal_conv',
      conv('conv3d_1', opts.filters, [opts.temporalKernelSize, 1, 1], [opts.temporalStrides, 1, 1]),
    );
    this.norm1 = this.add('_norm1', bn('batch_normalization_1'));
    this.spatialConv = this.add(
      '_spatial_conv',
      conv('conv3d_2', opts.filters, [1, 3, 3], [1, opts.spatialStrides, opts.spatialStrides]),
    );
    this.norm2 = this.add('_norm2', bn('batch_normalization_2'));
    this.expandConv = this.add('_expand_conv', conv('conv3d_3', outFilters, [1, 1, 1], [1, 1, 1]));
    this.norm3 = this.add('_norm3', bn('batch_normalization_3'));
    if (usesSqueezeExcitation(opts.seRatio)) {
      this.se = this.add(
        '_squeeze_excitation',
        new SqueezeExcitation({
          inFilters: outFilters,
          outFilters,
          seRatio: opts.seRatio,
          use3dInput: true,
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
    if (opts.useSelfGating) {
      this.selfGating = this.add('_self_gating', new SelfGating({ filters: outFilters }));
    }
    this.act = getActivation(opts.activation ?? 'relu');
  }

  /** x: [batch, t, h, w, inFilters] → [batch, ⌈t/ts⌉, ⌈h/s⌉, ⌈w/s⌉, 4·filters]. */
  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    if (x.rank !== 5 || x.shape[4] !== this.inFilters) {
      throw new Error(
        `BottleneckBlock3D '${this.fullPath()}': expected [batch, t, h, w, ${this.inFilters}], got [${x.shape}]`,
      );
    }
    return tf.tidy(() => {
      let shortcut = x;
      if (this.shortcutConv && this.norm0) {
        shortcut = this.norm0.apply(this.shortcutConv.apply(x, args), args);
      } else if (this.shortcutPool) {
        shortcut = this.shortcutPool.apply(x, args);
      }
      let y = this.act(this.norm1.apply(this.temporalConv.apply(x, args), args));
      y = this.act(this.norm2.apply(this.spatialConv.apply(y, args), args));
      y = this.norm3.apply(this.expandConv.apply(y, args), args);
      // MG's order: self-gating, SE, stochastic depth, then the residual add.
      if (this.selfGating) y = this.selfGating.apply(y, args);
      if (this.se) y = this.se.apply(y, args);
      if (this.stochasticDepth) y = this.stochasticDepth.apply(y, args);
      return this.act(tf.add(y, shortcut));
    });
  }
}
