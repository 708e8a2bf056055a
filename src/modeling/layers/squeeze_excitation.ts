/**
 * Squeeze-and-excitation (official/vision/modeling/layers/nn_layers.py SqueezeExcitation) and the
 * channel rounding helper `make_divisible` it uses.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs, type LayerOptions } from '../../core/layer.js';
import type { InitializerIdentifier } from '../../core/initializers.js';
import { getActivation, type ActivationFn } from './activations.js';
import { Conv2D } from './conv.js';
import { setKerasDefaultName } from './layer_utils.js';

/**
 * Rounds `value` to the nearest multiple of `divisor` (half rounds up), at least `minValue`
 * (default `divisor`); with `roundDownProtect`, adds one `divisor` if that lost more than 10%
 * (MG nn_layers.make_divisible).
 */
export function makeDivisible(
  value: number,
  divisor: number,
  minValue?: number | null,
  roundDownProtect = true,
): number {
  if (!(divisor >= 1)) throw new Error(`makeDivisible: divisor must be >= 1, got ${divisor}`);
  const min = minValue ?? divisor;
  let rounded = Math.max(min, Math.floor(Math.trunc(value + divisor / 2) / divisor) * divisor);
  if (roundDownProtect && rounded < 0.9 * value) rounded += divisor;
  return Math.trunc(rounded);
}

export interface SqueezeExcitationOptions extends LayerOptions {
  /**
   * Sizes the reduction only; MG's inverted bottleneck passes the block's input width here while
   * the layer sees the expanded width (`outFilters`).
   */
  inFilters: number;
  /** Channels of the gate: the input's channels (the gate multiplies the input). */
  outFilters: number;
  /** Reduced channels = makeDivisible(max(1, int(inFilters · seRatio)), divisibleBy). */
  seRatio: number;
  /** Default 1. */
  divisibleBy?: number;
  /** Pool over (d, h, w) of an NDHWC input instead of (h, w); default false. */
  use3dInput?: boolean;
  /** Default 'VarianceScaling' (Keras defaults: scale 1, fan_in, truncated normal), as in MG. */
  kernelInitializer?: InitializerIdentifier;
  /** After the reduce conv; default 'relu'. */
  activation?: string;
  /** After the expand conv; default 'sigmoid'. */
  gatingActivation?: string;
  /** Passed to makeDivisible; default true. */
  roundDownProtect?: boolean;
}

/**
 * y = x · gate(expand(act(reduce(mean_spatial(x))))) with 1×1 convolutions `_se_reduce`
 * (Keras name conv2d) and `_se_expand` (conv2d_1), both with bias. Input [batch, h, w, c]
 * (or [batch, d, h, w, c] with use3dInput).
 */
export class SqueezeExcitation extends Layer {
  readonly inFilters: number;
  readonly outFilters: number;
  readonly seRatio: number;
  readonly numReducedFilters: number;
  readonly use3dInput: boolean;
  private readonly activationFn: ActivationFn;
  private readonly gatingFn: ActivationFn;
  private readonly reduce: Conv2D;
  private readonly expand: Conv2D;

  constructor(opts: SqueezeExcitationOptions) {
    super(opts);
    setKerasDefaultName(this, opts, 'squeeze_excitation');
    if (!(opts.seRatio > 0)) {
      throw new Error(`SqueezeExcitation '${this.name}': seRatio must be > 0, got ${opts.seRatio}`);
    }
    this.inFilters = opts.inFilters;
    this.outFilters = opts.outFilters;
    this.seRatio = opts.seRatio;
    this.use3dInput = opts.use3dInput ?? false;
    this.numReducedFilters = makeDivisible(
      Math.max(1, Math.trunc(opts.inFilters * opts.seRatio)),
      opts.divisibleBy ?? 1,
      undefined,
      opts.roundDownProtect ?? true,
    );
    this.activationFn = getActivation(opts.activation ?? 'relu');
    this.gatingFn = getActivation(opts.gatingActivation ?? 'sigmoid');
    const kernelInitializer = opts.kernelInitializer ?? 'VarianceScaling';
    const conv = (filters: number) =>
      new Conv2D({ filters, kernelSize: 1, padding: 'same', useBias: true, kernelInitializer });
    this.reduce = this.add('_se_reduce', conv(this.numReducedFilters));
    this.expand = this.add('_se_expand', conv(opts.outFilters));
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    const rank = this.use3dInput ? 5 : 4;
    if (x.rank !== rank || x.shape[rank - 1] !== this.outFilters) {
      throw new Error(
        `SqueezeExcitation '${this.fullPath()}': expected a rank-${rank} input with ${this.outFilters} channels, got shape [${x.shape}]`,
      );
    }
    const spatial = this.use3dInput ? [1, 2, 3] : [1, 2];
    return tf.tidy(() => {
      const squeezed = tf.mean(x, spatial, true);
      const reduced = this.activationFn(this.reduce.apply(squeezed, args));
      const gate = this.gatingFn(this.expand.apply(reduced, args));
      return tf.mul(gate, x);
    });
  }
}
