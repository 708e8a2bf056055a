/**
 * Gradient clipping with TensorFlow's formulas (tf.clip_by_value, tf.clip_by_norm,
 * tf.clip_by_global_norm), as Keras optimizers apply them for `clipvalue`, `clipnorm` and
 * `global_clipnorm`. All functions are pure and work on tensors of any shape.
 */
import * as tf from '@tensorflow/tfjs-core';

/** sqrt(Σ_t Σ_i t_i²) over all tensors, as a float32 scalar (tf.linalg.global_norm). */
export function globalNorm(tensors: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => {
    if (tensors.length === 0) return tf.scalar(0);
    const squares = tensors.map((t) => tf.sum(tf.square(t)));
    return tf.sqrt(squares.length === 1 ? squares[0] : tf.addN(squares)) as tf.Scalar;
  });
}

/**
 * Scales all tensors by `clipNorm / max(globalNorm, clipNorm)` (tf.clip_by_global_norm: the scale is
 * computed as clipNorm * min(1/globalNorm, 1/clipNorm) + (globalNorm − globalNorm), so a zero norm
 * leaves the tensors unchanged and an infinite or NaN norm makes every entry NaN, as in TF).
 * @returns the clipped tensors (new tensors, aligned with `grads`) and the norm before clipping.
 */
export function clipByGlobalNorm(
  grads: tf.Tensor[],
  clipNorm: number,
): { grads: tf.Tensor[]; globalNorm: tf.Scalar } {
  checkClipValue(clipNorm, 'clipNorm');
  const norm = globalNorm(grads);
  const clipped = tf.tidy(() => {
    const finiteScale = tf.mul(clipNorm, tf.minimum(tf.div(1, norm), 1 / clipNorm));
    // (norm − norm) is 0 for a finite norm and NaN for inf/NaN: TF's way to poison the scale.
    const scale = tf.add(finiteScale, tf.sub(norm, norm));
    return grads.map((g) => tf.mul(g, scale));
  });
  return { grads: clipped, globalNorm: norm };
}

/**
 * Rescales `t` so that its L2 norm is at most `clipNorm`: t * clipNorm / max(‖t‖, clipNorm)
 * (tf.clip_by_norm over all axes; a zero tensor stays zero).
 */
export function clipByNorm(t: tf.Tensor, clipNorm: number): tf.Tensor {
  checkClipValue(clipNorm, 'clipNorm');
  return tf.tidy(() => {
    const l2sum = tf.sum(tf.square(t));
    const positive = tf.greater(l2sum, 0);
    // Same guard as TF: the gradient of sqrt at 0 would be infinite, so 0 is routed around it.
    const l2norm = tf.where(
      positive,
      tf.sqrt(tf.where(positive, l2sum, tf.onesLike(l2sum))),
      l2sum,
    );
    return tf.div(tf.mul(t, clipNorm), tf.maximum(l2norm, clipNorm));
  });
}

/** Clamps every entry of `t` to [-clipValue, clipValue] (Keras `clipvalue`). */
export function clipByValue(t: tf.Tensor, clipValue: number): tf.Tensor {
  checkClipValue(clipValue, 'clipValue');
  return tf.clipByValue(t, -clipValue, clipValue);
}

function checkClipValue(v: number, field: string): void {
  if (!(typeof v === 'number' && v >= 0)) {
    throw new Error(`gradient clipping: ${field} must be a number >= 0, got ${v}`);
  }
}
