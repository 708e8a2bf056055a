/**
 * Random regularisers active only in training mode: Keras `Dropout` and Model Garden's
 * `StochasticDepth` (official/vision/modeling/layers/nn_layers.py).
 *
 * Masks come from `randomUniform` (src/core/random_ops.ts: `tf.randomUniform` with an op seed drawn
 * from a stream) using `args.rng` (the trainer's checkpointed stream) or, without one, the layer's
 * own stream derived from the global seed and its path, so runs are reproducible either way. Going
 * through that hook lets a compiled step feed fresh masks each step instead of freezing one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs, type LayerOptions } from '../../core/layer.js';
import { getGlobalSeed, Rng } from '../../core/random.js';
import { randomUniform } from '../../core/random_ops.js';
import { checkRate, setKerasDefaultName } from './layer_utils.js';

/** A layer with a lazily derived random stream of its own. */
abstract class RandomLayer extends Layer {
  private ownRng: Rng | null = null;

  /** The stream masks are drawn from: `args.rng`, else this layer's own (derived by path). */
  protected stream(args: CallArgs): Rng {
    if (args.rng) return args.rng;
    this.ownRng ??= Rng.derive(getGlobalSeed(), `${this.fullPath()}/random`);
    return this.ownRng;
  }
}

export interface DropoutOptions extends LayerOptions {
  /** Fraction of units dropped, in [0, 1). */
  rate: number;
  /**
   * Shape of the keep mask, broadcast against the input; `null` entries take the input's size
   * (Keras noise_shape). Default: the input's shape.
   */
  noiseShape?: (number | null)[];
}

/**
 * Keras `Dropout`: in training, y = x · keep / (1 - rate) with keep = (u >= rate),
 * u ~ U[0, 1) of `noiseShape`; identity otherwise or when rate is 0.
 */
export class Dropout extends RandomLayer {
  readonly rate: number;
  readonly noiseShape: (number | null)[] | undefined;

  constructor(opts: DropoutOptions) {
    super(opts);
    setKerasDefaultName(this, opts, 'dropout');
    this.rate = checkRate(opts.rate, `Dropout '${this.name}': rate`);
    this.noiseShape = opts.noiseShape ? [...opts.noiseShape] : undefined;
  }

  private maskShape(x: tf.Tensor): number[] {
    if (!this.noiseShape) return x.shape;
    if (this.noiseShape.length !== x.rank) {
      throw new Error(
        `Dropout '${this.fullPath()}': noiseShape [${this.noiseShape}] has rank ${this.noiseShape.length}, input [${x.shape}] has rank ${x.rank}`,
      );
    }
    return this.noiseShape.map((d, i) => {
      const size = d ?? x.shape[i];
      if (size !== 1 && size !== x.shape[i]) {
        throw new Error(
          `Dropout '${this.fullPath()}': noiseShape [${this.noiseShape}] does not broadcast to input [${x.shape}]`,
        );
      }
      return size;
    });
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    if (!args.training || this.rate === 0) return x;
    const shape = this.maskShape(x);
    const rng = this.stream(args);
    return tf.tidy(() => {
      const u = randomUniform(shape, rng);
      const keep = tf.cast(tf.greaterEqual(u, this.rate), x.dtype);
      return tf.mul(x, tf.mul(keep, 1 / (1 - this.rate)));
    });
  }
}

export interface StochasticDepthOptions extends LayerOptions {
  /** Probability of dropping a whole residual branch per example, in [0, 1); 0 or null = identity. */
  dropRate: number | null;
}

/**
 * Model Garden `StochasticDepth`: in training, y = x / keep_prob · floor(keep_prob + u) with one
 * u ~ U[0, 1) per example (mask shape [batch, 1, ..., 1]); identity otherwise.
 */
export class StochasticDepth extends RandomLayer {
  readonly dropRate: number | null;

  constructor(opts: StochasticDepthOptions) {
    super(opts);
    setKerasDefaultName(this, opts, 'stochastic_depth');
    this.dropRate =
      opts.dropRate === null
        ? null
        : checkRate(opts.dropRate, `StochasticDepth '${this.name}': dropRate`);
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    if (!args.training || !this.dropRate) return x;
    const keepProb = 1 - this.dropRate;
    const rng = this.stream(args);
    return tf.tidy(() => {
      const shape = [x.shape[0], ...new Array<number>(x.rank - 1).fill(1)];
      const binary = tf.floor(tf.add(randomUniform(shape, rng), keepProb));
      return tf.mul(tf.div(x, keepProb), binary);
    });
  }
}

/**
 * Drop rate of block `blockIndex` of `numBlocks`: initRate · blockIndex / numBlocks (MG
 * nn_layers.get_stochastic_depth_rate); null stays null.
 */
export function getStochasticDepthRate(
  initRate: number | null,
  blockIndex: number,
  numBlocks: number,
): number | null {
  if (initRate === null) return null;
  if (!(initRate >= 0 && initRate <= 1)) {
    throw new Error(
      `getStochasticDepthRate: initial drop rate must be within 0 and 1, got ${initRate}`,
    );
  }
  if (!(numBlocks > 0))
    throw new Error(`getStochasticDepthRate: numBlocks must be > 0, got ${numBlocks}`);
  return (initRate * blockIndex) / numBlocks;
}
