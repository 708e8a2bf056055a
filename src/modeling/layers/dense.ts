/** Fully connected layer (Keras `Dense`). */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs, type Initializer, type LayerOptions } from '../../core/layer.js';
import { getInitializer, type InitializerIdentifier } from '../../core/initializers.js';
import { getActivation, type ActivationFn } from './activations.js';
import { setKerasDefaultName } from './layer_utils.js';

export interface DenseOptions extends LayerOptions {
  /** Output features. */
  units: number;
  /** Default true. */
  useBias?: boolean;
  /** Default glorot_uniform (Keras). */
  kernelInitializer?: InitializerIdentifier;
  /** Default zeros. */
  biasInitializer?: InitializerIdentifier;
  /** Applied after the bias; default none. */
  activation?: string | null;
}

/**
 * y = activation(x · kernel + bias) on the last axis. Input [..., in] of rank >= 2; output
 * [..., units]. Weights `kernel` [in, units] (regularized) and `bias` [units].
 */
export class Dense extends Layer {
  readonly units: number;
  readonly useBias: boolean;
  private readonly kernelInitializer: Initializer;
  private readonly biasInitializer: Initializer;
  private readonly activationName: string | null;
  private readonly activationFn: ActivationFn;
  private kernel: tf.Variable | null = null;
  private bias: tf.Variable | null = null;

  constructor(opts: DenseOptions) {
    super(opts);
    setKerasDefaultName(this, opts, 'dense');
    if (!Number.isInteger(opts.units) || opts.units < 1) {
      throw new Error(`Dense '${this.name}': units must be a positive integer, got ${opts.units}`);
    }
    this.units = opts.units;
    this.useBias = opts.useBias ?? true;
    this.kernelInitializer = getInitializer(opts.kernelInitializer ?? 'glorot_uniform');
    this.biasInitializer = getInitializer(opts.biasInitializer ?? 'zeros');
    this.activationName = opts.activation ?? null;
    this.activationFn = getActivation(this.activationName);
  }

  private checkInput(x: tf.Tensor): void {
    if (x.rank < 2) {
      throw new Error(
        `Dense '${this.fullPath()}': expected an input of rank >= 2, got shape [${x.shape}]`,
      );
    }
  }

  protected override build(x: tf.Tensor): void {
    this.checkInput(x);
    const inFeatures = x.shape[x.rank - 1];
    this.kernel = this.addWeight('kernel', [inFeatures, this.units], {
      initializer: this.kernelInitializer,
      regularize: true,
    });
    if (this.useBias) {
      this.bias = this.addWeight('bias', [this.units], { initializer: this.biasInitializer });
    }
  }

  protected call(x: tf.Tensor, _args: CallArgs): tf.Tensor {
    this.checkInput(x);
    const kernel = this.kernel as tf.Variable;
    const inFeatures = kernel.shape[0];
    if (x.shape[x.rank - 1] !== inFeatures) {
      throw new Error(
        `Dense '${this.fullPath()}': input has ${x.shape[x.rank - 1]} features, kernel expects ${inFeatures}`,
      );
    }
    return tf.tidy(() => {
      const flat = x.rank === 2 ? x : tf.reshape(x, [-1, inFeatures]);
      let y: tf.Tensor = tf.matMul(flat as tf.Tensor2D, kernel as tf.Tensor2D);
      if (this.bias) y = tf.add(y, this.bias);
      if (this.activationName) y = this.activationFn(y);
      return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), this.units]);
    });
  }
}
