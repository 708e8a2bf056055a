/**
 * Classification losses with Keras semantics (what Model Garden's image classification task
 * calls: tf.keras.losses.categorical_crossentropy / sparse_categorical_crossentropy with
 * from_logits=True, label smoothing applied to one-hot targets, binary cross-entropy for
 * multi-label).
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Per-example softmax cross-entropy of `logits` [B, K] against `targets` [B, K] (one-hot or soft
 * labels, e.g. from MixUp/CutMix). With `labelSmoothing` ε the targets become
 * targets·(1−ε) + ε/K (Keras categorical_crossentropy). Returns [B].
 */
export function softmaxCrossEntropy(
  logits: tf.Tensor,
  targets: tf.Tensor,
  labelSmoothing = 0,
): tf.Tensor1D {
  return tf.tidy(() => {
    const k = logits.shape[logits.shape.length - 1];
    const t =
      labelSmoothing > 0
        ? tf.add(tf.mul(targets, 1 - labelSmoothing), labelSmoothing / k)
        : targets;
    const logp = tf.logSoftmax(logits);
    return tf.neg(tf.sum(tf.mul(t, logp), -1)) as tf.Tensor1D;
  });
}

/** Sparse variant: integer labels [B] (int32) → per-example loss [B]. */
export function sparseSoftmaxCrossEntropy(
  logits: tf.Tensor,
  labels: tf.Tensor,
  labelSmoothing = 0,
): tf.Tensor1D {
  return tf.tidy(() => {
    const k = logits.shape[logits.shape.length - 1];
    return softmaxCrossEntropy(logits, tf.oneHot(tf.cast(labels, 'int32'), k), labelSmoothing);
  });
}

/**
 * Per-example mean sigmoid cross-entropy over classes (Keras binary_crossentropy with
 * from_logits=True), in the numerically stable form max(x,0) − x·z + log(1+exp(−|x|)).
 */
export function sigmoidCrossEntropy(
  logits: tf.Tensor,
  targets: tf.Tensor,
  labelSmoothing = 0,
): tf.Tensor1D {
  return tf.tidy(() => {
    const z =
      labelSmoothing > 0
        ? tf.add(tf.mul(targets, 1 - labelSmoothing), 0.5 * labelSmoothing)
        : targets;
    const x = logits;
    const l = tf.add(tf.sub(tf.relu(x), tf.mul(x, z)), tf.log1p(tf.exp(tf.neg(tf.abs(x)))));
    return tf.mean(l, -1) as tf.Tensor1D;
  });
}
