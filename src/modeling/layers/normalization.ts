/** Batch and layer normalization with Keras semantics, weights and defaults. */
import * as tf from '@tensorflow/tfjs-core';
import {
  Layer,
  updateState,
  type CallArgs,
  type Initializer,
  type LayerOptions,
} from '../../core/layer.js';
import { getInitializer, type InitializerIdentifier } from '../../core/initializers.js';
import { setKerasDefaultName } from './layer_utils.js';

function resolveAxes(axes: number[], rank: number, what: string): number[] {
  const out = axes.map((a) => (a < 0 ? a + rank : a));
  for (let i = 0; i < out.length; i++) {
    if (!Number.isInteger(out[i]) || out[i] < 0 || out[i] >= rank) {
      throw new Error(`${what}: axis ${axes[i]} is out of range for an input of rank ${rank}`);
    }
  }
  if (new Set(out).size !== out.length) throw new Error(`${what}: duplicate axes [${axes}]`);
  return out.sort((a, b) => a - b);
}

export interface BatchNormalizationOptions extends LayerOptions {
  /** Moving-average momentum; default 0.99 (Keras and Model Garden norm_momentum). */
  momentum?: number;
  /** Added to the variance; default 0.001 (Keras and Model Garden norm_epsilon). */
  epsilon?: number;
  /** Learn `beta`; default true. */
  center?: boolean;
  /** Learn `gamma`; default true. */
  scale?: boolean;
  /** The feature axis (kept; all others are reduced); default -1 (channels last). */
  axis?: number;
  /** Default zeros. */
  betaInitializer?: InitializerIdentifier;
  /** Default ones. */
  gammaInitializer?: InitializerIdentifier;
  /** Default zeros. */
  movingMeanInitializer?: InitializerIdentifier;
  /** Default ones. */
  movingVarianceInitializer?: InitializerIdentifier;
}

/**
 * Keras `BatchNormalization` over one feature axis, for inputs of any rank >= 2 (NHWC, NDHWC, ...).
 * Weights: `gamma`, `beta` (trainable, not regularized), `moving_mean`, `moving_variance`
 * (non-trainable), each [features].
 *
 * Training (`args.training` and the layer trainable): y = (x - μ_B) / √(σ²_B + ε) · γ + β with the
 * batch mean and biased batch variance over all axes but `axis`; the moving statistics become
 * moving · momentum + batch · (1 - momentum), using the biased batch variance as Keras does
 * (keras/layers/normalization/batch_normalization.py removes the fused op's Bessel correction).
 * Updates go through {@link updateState}. Otherwise (inference, or a frozen layer, which Keras
 * also runs in inference mode) the moving statistics normalise and nothing is updated.
 */
export class BatchNormalization extends Layer {
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly axis: number;
  private readonly inits: Record<'beta' | 'gamma' | 'movingMean' | 'movingVariance', Initializer>;
  private gamma: tf.Variable | null = null;
  private beta: tf.Variable | null = null;
  private movingMean: tf.Variable | null = null;
  private movingVariance: tf.Variable | null = null;
  private featureAxis = -1;
  private inputRank = 0;

  constructor(opts: BatchNormalizationOptions = {}) {
    super(opts);
    setKerasDefaultName(this, opts, 'batch_normalization');
    this.momentum = opts.momentum ?? 0.99;
    this.epsilon = opts.epsilon ?? 1e-3;
    if (!(this.momentum >= 0 && this.momentum <= 1)) {
      throw new Error(
        `BatchNormalization '${this.name}': momentum must be in [0, 1], got ${this.momentum}`,
      );
    }
    if (!(this.epsilon > 0)) {
      throw new Error(
        `BatchNormalization '${this.name}': epsilon must be > 0, got ${this.epsilon}`,
      );
    }
    this.center = opts.center ?? true;
    this.scale = opts.scale ?? true;
    this.axis = opts.axis ?? -1;
    this.inits = {
      beta: getInitializer(opts.betaInitializer ?? 'zeros'),
      gamma: getInitializer(opts.gammaInitializer ?? 'ones'),
      movingMean: getInitializer(opts.movingMeanInitializer ?? 'zeros'),
      movingVariance: getInitializer(opts.movingVarianceInitializer ?? 'ones'),
    };
  }

  private describe(): string {
    return `BatchNormalization '${this.fullPath()}'`;
  }

  protected override build(x: tf.Tensor): void {
    if (x.rank < 2)
      throw new Error(`${this.describe()}: expected rank >= 2, got shape [${x.shape}]`);
    this.inputRank = x.rank;
    this.featureAxis = resolveAxes([this.axis], x.rank, this.describe())[0];
    const shape = [x.shape[this.featureAxis]];
    if (this.scale) this.gamma = this.addWeight('gamma', shape, { initializer: this.inits.gamma });
    if (this.center) this.beta = this.addWeight('beta', shape, { initializer: this.inits.beta });
    this.movingMean = this.addWeight('moving_mean', shape, {
      initializer: this.inits.movingMean,
      trainable: false,
    });
    this.movingVariance = this.addWeight('moving_variance', shape, {
      initializer: this.inits.movingVariance,
      trainable: false,
    });
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    if (x.rank !== this.inputRank) {
      throw new Error(
        `${this.describe()}: built for rank ${this.inputRank}, got shape [${x.shape}]`,
      );
    }
    const features = (this.movingMean as tf.Variable).shape[0];
    if (x.shape[this.featureAxis] !== features) {
      throw new Error(
        `${this.describe()}: input has ${x.shape[this.featureAxis]} features on axis ${this.axis}, expected ${features}`,
      );
    }
    const movingMean = this.movingMean as tf.Variable;
    const movingVariance = this.movingVariance as tf.Variable;
    const training = args.training === true && this.trainable;
    const reduceAxes = [...Array(x.rank).keys()].filter((a) => a !== this.featureAxis);
    const broadcast = x.shape.map((d, a) => (a === this.featureAxis ? d : 1));
    const shaped = (t: tf.Tensor) =>
      this.featureAxis === x.rank - 1 ? t : tf.reshape(t, broadcast);
    return tf.tidy(() => {
      let mean: tf.Tensor = movingMean;
      let variance: tf.Tensor = movingVariance;
      if (training) {
        const moments = tf.moments(x, reduceAxes);
        mean = moments.mean;
        variance = moments.variance;
        const m = this.momentum;
        const newMean = tf.add(tf.mul(movingMean, m), tf.mul(mean, 1 - m));
        const newVariance = tf.add(tf.mul(movingVariance, m), tf.mul(variance, 1 - m));
        updateState(args, movingMean, newMean);
        updateState(args, movingVariance, newVariance);
      }
      // x·inv + (beta − mean·inv), inv = gamma·rsqrt(var + ε): TF's own formula
      // (tensorflow/python/ops/nn_impl.py batch_normalization). As a multiply-add on x, ONNX
      // Runtime folds it into the preceding Conv of an inference graph.
      let inv = tf.rsqrt(tf.add(variance, this.epsilon));
      if (this.gamma) inv = tf.mul(inv, this.gamma);
      const meanTimesInv = tf.mul(mean, inv);
      const shift = this.beta ? tf.sub(this.beta, meanTimesInv) : tf.neg(meanTimesInv);
      return tf.add(tf.mul(x, shaped(inv)), shaped(shift));
    });
  }
}

export interface LayerNormalizationOptions extends LayerOptions {
  /** Axis or axes normalised over (and holding gamma/beta); default -1. */
  axis?: number | number[];
  /** Default 0.001 (Keras); ViT passes 1e-6. */
  epsilon?: number;
  /** Learn `beta`; default true. */
  center?: boolean;
  /** Learn `gamma`; default true. */
  scale?: boolean;
  /** Default zeros. */
  betaInitializer?: InitializerIdentifier;
  /** Default ones. */
  gammaInitializer?: InitializerIdentifier;
}

/**
 * Keras `LayerNormalization`: y = (x - mean) / √(var + ε) · γ + β with mean and biased variance
 * over `axis` of each example. Weights `gamma`, `beta` with the shape of the normalised axes.
 */
export class LayerNormalization extends Layer {
  readonly axis: number[];
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  private readonly gammaInit: Initializer;
  private readonly betaInit: Initializer;
  private gamma: tf.Variable | null = null;
  private beta: tf.Variable | null = null;
  private axes: number[] = [];

  constructor(opts: LayerNormalizationOptions = {}) {
    super(opts);
    setKerasDefaultName(this, opts, 'layer_normalization');
    const axis = opts.axis ?? -1;
    this.axis = typeof axis === 'number' ? [axis] : [...axis];
    this.epsilon = opts.epsilon ?? 1e-3;
    if (!(this.epsilon > 0)) {
      throw new Error(
        `LayerNormalization '${this.name}': epsilon must be > 0, got ${this.epsilon}`,
      );
    }
    this.center = opts.center ?? true;
    this.scale = opts.scale ?? true;
    this.gammaInit = getInitializer(opts.gammaInitializer ?? 'ones');
    this.betaInit = getInitializer(opts.betaInitializer ?? 'zeros');
  }

  protected override build(x: tf.Tensor): void {
    this.axes = resolveAxes(this.axis, x.rank, `LayerNormalization '${this.fullPath()}'`);
    const shape = this.axes.map((a) => x.shape[a]);
    if (this.scale) this.gamma = this.addWeight('gamma', shape, { initializer: this.gammaInit });
    if (this.center) this.beta = this.addWeight('beta', shape, { initializer: this.betaInit });
  }

  protected call(x: tf.Tensor, _args: CallArgs): tf.Tensor {
    const broadcast = x.shape.map((d, a) => (this.axes.includes(a) ? d : 1));
    const shaped = (t: tf.Tensor) => tf.reshape(t, broadcast);
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, this.axes, true);
      let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.epsilon)));
      if (this.gamma) y = tf.mul(y, shaped(this.gamma));
      if (this.beta) y = tf.add(y, shaped(this.beta));
      return y;
    });
  }
}
