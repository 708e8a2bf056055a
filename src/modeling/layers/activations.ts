/**
 * Activation functions by Model Garden name (official/modeling/tf_utils.get_activation and
 * official/modeling/activations/*), built from differentiable tfjs ops.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs, type LayerOptions } from '../../core/layer.js';

export type ActivationFn = (x: tf.Tensor) => tf.Tensor;

/** x · sigmoid(x) (MG activations/swish.py simple_swish; Keras swish). */
export function swish(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}

/** relu6(x + 3) · 0.16667 — MG activations/sigmoid.py uses the rounded constant 0.16667. */
export function hardSigmoid(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.relu6(tf.add(x, 3)), 0.16667));
}

/** x · relu6(x + 3) / 6 (MG activations/swish.py hard_swish). */
export function hardSwish(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, tf.relu6(tf.add(x, 3))), 1 / 6));
}

/** Exact GELU: 0.5 · x · (1 + erf(x / √2)) (Keras gelu, approximate=False). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))));
}

/** Tanh GELU: 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 x³))) (Keras gelu, approximate=True). */
export function geluApproximate(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
    return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner)));
  });
}

/** x · tanh(softplus(x)) (MG activations/mish.py). */
export function mish(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.tanh(tf.softplus(x))));
}

/** Keras leaky_relu default negative slope (tf.nn.leaky_relu alpha=0.2). */
const LEAKY_RELU_ALPHA = 0.2;

const ACTIVATIONS: Record<string, ActivationFn> = {
  relu: (x) => tf.relu(x),
  relu6: (x) => tf.relu6(x),
  swish,
  simple_swish: swish,
  silu: swish,
  hard_swish: hardSwish,
  hard_sigmoid: hardSigmoid,
  gelu,
  gelu_approximate: geluApproximate,
  mish,
  sigmoid: (x) => tf.sigmoid(x),
  tanh: (x) => tf.tanh(x),
  elu: (x) => tf.elu(x),
  leaky_relu: (x) => tf.leakyRelu(x, LEAKY_RELU_ALPHA),
  softplus: (x) => tf.softplus(x),
  linear: (x) => tf.clone(x),
  identity: (x) => tf.clone(x),
};

/** Names accepted by {@link getActivation} (plus `null`/`undefined`/'none' for identity). */
export const ACTIVATION_NAMES: readonly string[] = Object.keys(ACTIVATIONS);

/**
 * Maps a Model Garden activation name (case-insensitive) to a function; `null`, `undefined` and
 * 'none' mean identity. Note: 'gelu' is the exact (erf) form as used by Keras layers and ViT;
 * MG's `tf_utils.get_activation('gelu')` returns the tanh approximation, available here as
 * 'gelu_approximate'.
 */
export function getActivation(name: string | null | undefined): ActivationFn {
  if (name === null || name === undefined) return ACTIVATIONS.linear;
  const key = name.toLowerCase();
  if (key === 'none') return ACTIVATIONS.linear;
  const fn = ACTIVATIONS[key];
  if (!fn) {
    throw new Error(`unknown activation '${name}'; valid names: ${ACTIVATION_NAMES.join(', ')}`);
  }
  return fn;
}

export interface ActivationOptions extends LayerOptions {
  /** Activation name, see {@link getActivation}. */
  activation: string | null;
}

/** A weightless layer applying a named activation (Keras `Activation`). */
export class Activation extends Layer {
  readonly activation: string | null;
  private readonly fn: ActivationFn;

  constructor(opts: ActivationOptions) {
    super(opts);
    this.activation = opts.activation;
    this.fn = getActivation(opts.activation);
  }

  protected call(x: tf.Tensor, _args: CallArgs): tf.Tensor {
    return this.fn(x);
  }
}
